"""Japanese postal codes and street addresses.

Both run on ``text.norm`` (NFKC: full-width digits are ASCII, 「－」 is ``-``, full-width spaces are
spaces). A postal code is a finding of its own; the address that follows it starts at the prefecture.

An address is recognised by its structure rather than a gazetteer, so it needs no data file:

    prefecture (47 都道府県; bare 「東京」「大阪」 only when a city follows)
    → [郡] 市/区/町/村 [政令市の区] → 町名 → 丁目・番地・号 (kanji numerals, Arabic, or 1-2-3)
    → optional building (…ビル/マンション/ハイツ/レジデンス … and 階/号室/F).

It may also start at a 政令指定都市 or one of Tokyo's 23 wards, but then it needs block numbers to
count: 「横浜市の天気」 is not an address, 「横浜市中区山下町1-2」 is.
"""

from __future__ import annotations

import re

from sekisho.guardrails.detectors.ja_numbers import digit_runs, has_japanese, run_starts
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

_DASH = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70"  # what people type between numbers

# --- postal codes -----------------------------------------------------------------------------------

# 〒 (or 郵便番号) makes any NNN-NNNN / NNNNNNN a postal code. The span is the digits only: redaction
# keeps the 〒 so the sentence still reads as an address. The patterns are defined with the address
# ones below, whose prefecture and city names a bare code must be followed by.
_PREFECTURES = (
    "北海道|東京都|京都府|大阪府|青森県|岩手県|宮城県|秋田県|山形県|福島県|茨城県|栃木県|群馬県|"
    "埼玉県|千葉県|神奈川県|新潟県|富山県|石川県|福井県|山梨県|長野県|岐阜県|静岡県|愛知県|三重県|"
    "滋賀県|兵庫県|奈良県|和歌山県|鳥取県|島根県|岡山県|広島県|山口県|徳島県|香川県|愛媛県|高知県|"
    "福岡県|佐賀県|長崎県|熊本県|大分県|宮崎県|鹿児島県|沖縄県"
)
# 「東京」「神奈川」…, tried only after the full names have failed.
_BARE_PREFECTURES = "|".join(p[:-1] for p in _PREFECTURES.split("|") if p != "北海道")


class PostalCodeDetector:
    """POSTAL_CODE: 〒NNN-NNNN, 〒NNNNNNN, 郵便番号 NNN-NNNN, or a bare code right before an address.

    Tried only where a run of digits starts (``digit_runs``, shared with the numeric detectors): a
    pattern with look-behinds scanned over the whole text costs ten times more.
    """

    name = "postal_code"
    types = frozenset({"POSTAL_CODE"})

    def __init__(self, *, score: float = 0.95) -> None:
        self.score = score

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        found: list[Finding] = []
        japanese = has_japanese(text)
        marked = "〒" in norm or "郵便" in norm or "ostal" in norm or "zip" in norm.lower()
        if not (marked or japanese):
            return found
        for a, b in digit_runs(text):
            for start in run_starts(norm, a, b):
                m = _POSTAL_AT.match(norm, start)
                if m is None:
                    continue
                if marked and _MARK_BEFORE.search(norm, max(0, start - 16), start):
                    found.append(text.finding("POSTAL_CODE", start, m.end(), self.score, self.name))
                elif japanese and self._bare(norm, m):
                    found.append(text.finding("POSTAL_CODE", start, m.end(), 0.85, self.name))
        return found

    @staticmethod
    def _bare(norm: str, m: re.Match[str]) -> bool:
        """A code with no 〒: right before an address, or after 住所; not a part or order number."""
        start, end = m.span()
        if m.group(2) not in ("", "-"):
            return False
        before = norm[start - 1] if start else ""
        if before and (
            before in _NOT_BEFORE_CODE or (before == ":" and start > 1 and norm[start - 2].isdigit())
        ):
            return False
        if end < len(norm) and norm[end] in _NOT_AFTER_CODE:
            return False
        if _NOT_POSTAL_BEFORE.search(norm, max(0, start - 12), start):
            return False  # 「部品番号：123-4567」
        if _ADDRESS_AFTER.match(norm, end):
            return True
        return m.group(2) == "-" and _JUSHO_BEFORE.search(norm, max(0, start - 8), start) is not None


# --- addresses --------------------------------------------------------------------------------------

_KANJI = "\u4e00-\u9fff\u3005\u30f6\u30b1"  # CJK ideographs, 々, ヶ, ケ
_KATA = "\u30a1-\u30fa\u30fc"
_HIRA_CITIES = (
    "さいたま|つくばみらい|つくば|いわき|ひたちなか|みどり|かすみがうら|つがる|むつ|あきる野|"
    "いちき串木野|うるま|えびの|みよし|たつの|かほく|あま|さくら|みやま|うきは|南あわじ|いすみ|"
    "ふじみ野|みなかみ|ときがわ|ニセコ|せたな"
)
_DESIGNATED = (
    "札幌市|仙台市|さいたま市|千葉市|横浜市|川崎市|相模原市|新潟市|静岡市|浜松市|名古屋市|京都市|"
    "大阪市|堺市|神戸市|岡山市|広島市|北九州市|福岡市|熊本市"
)
_WARDS23 = (
    "千代田区|中央区|港区|新宿区|文京区|台東区|墨田区|江東区|品川区|目黒区|大田区|世田谷区|渋谷区|"
    "中野区|杉並区|豊島区|北区|荒川区|板橋区|練馬区|足立区|葛飾区|江戸川区"
)
_CITY = (
    rf"(?:[{_KANJI}{_KATA}]{{1,6}}?郡)?"
    rf"(?:(?:{_HIRA_CITIES})[{_KANJI}]{{0,3}}?|[{_KANJI}{_KATA}]{{1,7}}?)[市区町村]"
    rf"(?:[{_KANJI}]{{1,4}}?区)?"
)
_UNIT = r"(?:[0-9]+|[一二三四五六七八九十〇百千]+)"
_UNIT_SUFFIX = "丁目|番地|番|号|条|線|地割"
# 丁目・番地・号 or 1-2-3: a kanji numeral only counts with a suffix (「六本木」 is a town, not 6).
# 「209番地の9」: の may follow a suffix.
_NUM = (
    rf"(?:{_UNIT}(?:(?:{_UNIT_SUFFIX})の?|[{_DASH}の]))*"
    rf"(?:[0-9]+(?:番地|号)?|{_UNIT}(?:{_UNIT_SUFFIX}))"
    # 「一番町」「北一条西」: the numeral belongs to the town name; 「3年」「10分」「5人」 are no block.
    rf"(?![町丁条通0-9東西南北円%年月日時分秒人件個つ回歳万かヶカ箇])"
)
# A town before block numbers; hiragana included (「おもろまち」「あざみ野」) but not as its first
# character when that is a particle, so 「港区に住んで1年」 does not make 「に住んで」 a town.
_TOWN_CHAR = rf"[{_KANJI}{_KATA}\u3041-\u30960-9ノ之]"
_NOT_TOWN = "まで|から|より|およそ|では|には|での|[にでをはがへともや]"
_TOWN = rf"(?:(?!{_NOT_TOWN}){_TOWN_CHAR}{_TOWN_CHAR}{{0,13}}?)?"
_TOWN_ONLY = rf"[{_KANJI}{_KATA}]{{1,12}}"
_BUILDING_WORD = (
    "ビルディング|ビル|マンション|ハイツ|レジデンス|タワー|コーポ|荘|ハウス|アパート|ヒルズ|パレス|"
    "コート|プラザ|ヴィラ|テラス|館|棟|センター|ガーデン|スクエア|フラット|メゾン|ハイム|キャッスル"
)
_ROOM = r"(?:[0-9]{1,4}|[A-Z]|地下[0-9])(?:階|F|号室|号棟|号館)"
# A bare room number after a condominium name, which often has no building word
# (「パークアクシス豊洲 1203」): three or four digits that are not a year, an amount or a phone number.
_BARE_ROOM = r"[0-9]{3,4}(?![0-9A-Za-z年月日円件名人個時分%:/.,\-])"
# A building name may hold hiragana (「さくらビル」) but not start with a particle, or 「1-2-3にある本社
# ビル」 would swallow the sentence.
_NAME = rf"[{_KANJI}{_KATA}\u3041-\u3096A-Za-z0-9・&'ノ]"
_NAME_RUN = rf"(?:(?![にのでをはがとへまかよやもす]){_NAME}{{0,24}}?)"
# Room or floor first, so 「ハイツ山下203号室」 is not cut after 「ハイツ」.
_BUILDING = (
    rf"(?:\s?{_NAME_RUN}{_ROOM}(?:\s?{_ROOM})?"
    rf"|\s?(?=[{_KATA}A-Za-z])[{_KANJI}{_KATA}\u3041-\u3096A-Za-z・&'ノ]{{2,24}}?\s?{_BARE_ROOM}"
    rf"|\s?{_NAME_RUN}(?:{_BUILDING_WORD})(?:\s?(?:{_ROOM}|[0-9]{{2,4}}(?![0-9年月日円件名人個時分%])))?"
    rf"|[{_DASH}][0-9]{{2,4}}(?![0-9]))"
)
_ADDRESS = re.compile(
    rf"(?:(?P<pref>{_PREFECTURES})|(?P<bare>{_BARE_PREFECTURES}))(?P<city>{_CITY})"
    rf"(?:(?P<num>{_TOWN}{_NUM}(?:{_BUILDING})?)|(?P<town>{_TOWN_ONLY}))?"
    rf"|(?P<anchor>{_DESIGNATED}|{_WARDS23})(?:[{_KANJI}]{{1,4}}?区)?{_TOWN}{_NUM}(?:{_BUILDING})?"
)
# An address that starts at a city with no prefecture (「つくば市竹園1-2-3」) needs block numbers.
# Found from each 「市」 (str.find) and tried from the kanji run before it.
_CITY_ADDRESS = re.compile(
    rf"(?:{_HIRA_CITIES}|[{_KANJI}]{{1,4}})市(?:[{_KANJI}]{{1,4}}?区)?{_TOWN}{_NUM}(?:{_BUILDING})?"
)
_ANY_NUMBER = re.compile("[0-9一二三四五六七八九十]")
_BEFORE_CITY = re.compile(rf"(?:{_HIRA_CITIES}|(?<![{_KANJI}])[{_KANJI}]{{1,4}})$")
# A bare NNN-NNNN (or NNNNNNN) counts only right before an address or after 住所, and not against
# other digits, dashes or a time (045-123-4567 → "123-4567" has a dash before it; 10:123-4567).
_POSTAL_AT = re.compile(rf"(\d{{3}})([{_DASH}]?)\d{{4}}(?![0-9]|[{_DASH}]\d)")
_MARK_BEFORE = re.compile(r"(?:〒|郵便番号|郵便|postal code|zip)\s*(?:[:は]\s*)?$", re.IGNORECASE)
_ADDRESS_AFTER = re.compile(
    rf"\s?(?:{_PREFECTURES}|{_DESIGNATED}|{_WARDS23}|[{_KANJI}]{{1,4}}市|(?:{_HIRA_CITIES})市)"
)
_JUSHO_BEFORE = re.compile(r"住所[:\s]*$")
_NOT_POSTAL_BEFORE = re.compile(
    r"(?:番号|品番|型番|No\.?|注文|伝票|管理|部品|コード|ID|オーダー|order|ticket|#)\s*[:は]?\s*$",
    re.IGNORECASE,
)
_NOT_BEFORE_CODE = frozenset("0123456789.,/" + _DASH)
_NOT_AFTER_CODE = frozenset(".,/:" + _DASH)

# Every address starts with one of these literals; scanning for them first is ~20x cheaper than
# running the whole pattern at every position (a literal alternation gets the regex engine's
# first-character filter).
_ANCHOR = re.compile("|".join([_PREFECTURES, _BARE_PREFECTURES, _DESIGNATED, _WARDS23]))
# A town name with no numbers runs until hiragana or punctuation; these trailing words are not in it.
_TOWN_TAIL = re.compile(
    r"(?:在住|在勤|出身|生まれ|育ち|周辺|付近|近辺|方面|界隈|駅前?|店|支店|営業所|本社|支社|事務所|"
    r"内|全域|全体|一帯|地域|地区|エリア|市内|区内)+$"
)


class JapaneseAddressDetector:
    """ADDRESS: a Japanese street address from the prefecture (or a major city) to the building.

    Without block numbers, a match needs a full prefecture name and a city (「東京都渋谷区」): a bare
    「大阪」 with a city is kept only when numbers follow, so a surname like 「山口」 or 「千葉」 does not
    start an address.
    """

    name = "ja_address"
    types = frozenset({"ADDRESS"})

    def __init__(self, *, partial_score: float = 0.7) -> None:
        # Prefecture + city with no street part: a location more than an address; still personal
        # data when it is someone's residence, so reported, but lower.
        self.partial_score = partial_score

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        found: list[Finding] = []
        if not has_japanese(text):
            return found
        resume = 0
        spans: list[tuple[int, int]] = []
        for anchor in _ANCHOR.finditer(norm):
            if anchor.start() < resume:
                continue
            m = _ADDRESS.match(norm, anchor.start())
            if m is None:
                continue
            resume = m.end()
            end = m.end()
            if m.group("anchor") or m.group("num"):
                score = 0.9
            elif m.group("bare"):
                continue  # 「千葉市」 in passing, or a surname followed by a city: not enough
            else:
                score = self.partial_score
                town = m.group("town")
                if town:
                    tail = _TOWN_TAIL.search(town)
                    if tail:
                        end -= len(town) - tail.start()
            found.append(text.finding("ADDRESS", m.start(), end, score, self.name))
            spans.append((m.start(), end))
        self._cities(text, spans, found)
        return found

    def _cities(self, text: Text, spans: list[tuple[int, int]], found: list[Finding]) -> None:
        """Addresses that start at a city with no prefecture before it, block numbers required."""
        norm = text.norm
        if _ANY_NUMBER.search(norm) is None:
            return  # block numbers are required here
        at = norm.find("市")
        k = 0  # ``spans`` is in order and so are the 「市」 found: one pointer keeps this linear
        while at >= 0:
            while k < len(spans) and spans[k][1] <= at:
                k += 1
            m = None
            if at > 0 and not (k < len(spans) and spans[k][0] <= at):
                before = _BEFORE_CITY.search(norm, max(0, at - 6), at)
                if before is not None:
                    m = _CITY_ADDRESS.match(norm, before.start())
            if m is None:
                at = norm.find("市", at + 1)
                continue
            found.append(text.finding("ADDRESS", m.start(), m.end(), 0.85, self.name))
            at = norm.find("市", m.end())
