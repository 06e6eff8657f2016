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

from sekisho.guardrails.detectors.ja_numbers import digit_windows
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

_DASH = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70"  # what people type between numbers

# --- postal codes -----------------------------------------------------------------------------------

# 〒 (or 郵便番号) makes any NNN-NNNN / NNNNNNN a postal code. The span is the digits only: redaction
# keeps the 〒 so the sentence still reads as an address.
_POSTAL_MARKED = re.compile(
    rf"(?:〒|郵便番号|郵便|postal code|zip)\s*(?:[:は]\s*)?"
    rf"(?<![0-9])(\d{{3}}[{_DASH}]?\d{{4}})(?![0-9]|[{_DASH}]\d)",
    re.IGNORECASE,
)
# A bare NNN-NNNN counts only next to an address (a prefecture after it) or after 住所. The
# look-arounds keep it out of phone numbers (045-123-4567 → "123-4567" has a dash before it).
_PREFECTURES = (
    "北海道|東京都|京都府|大阪府|青森県|岩手県|宮城県|秋田県|山形県|福島県|茨城県|栃木県|群馬県|"
    "埼玉県|千葉県|神奈川県|新潟県|富山県|石川県|福井県|山梨県|長野県|岐阜県|静岡県|愛知県|三重県|"
    "滋賀県|兵庫県|奈良県|和歌山県|鳥取県|島根県|岡山県|広島県|山口県|徳島県|香川県|愛媛県|高知県|"
    "福岡県|佐賀県|長崎県|熊本県|大分県|宮崎県|鹿児島県|沖縄県"
)
# 「東京」「神奈川」…, tried only after the full names have failed.
_BARE_PREFECTURES = "|".join(p[:-1] for p in _PREFECTURES.split("|") if p != "北海道")
_POSTAL_BARE = re.compile(
    rf"(?<![0-9{_DASH}.,/:])(\d{{3}}-\d{{4}})(?![0-9{_DASH}.,/:])(?=\s?(?:{_PREFECTURES}))"
    rf"|(?<=住所)[:\s]*(\d{{3}}-\d{{4}})(?![0-9{_DASH}])"
)


class PostalCodeDetector:
    """POSTAL_CODE: 〒NNN-NNNN, 〒NNNNNNN, 郵便番号 NNN-NNNN, or NNN-NNNN right before a prefecture."""

    name = "postal_code"
    types = frozenset({"POSTAL_CODE"})

    def __init__(self, *, score: float = 0.95) -> None:
        self.score = score

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        found: list[Finding] = []
        seen: set[int] = set()
        marked = "〒" in norm or "郵便" in norm or "ostal" in norm or "zip" in norm.lower()
        japanese = not norm.isascii()
        for lo, hi in digit_windows(text, 14, 8):
            if marked:
                for m in _POSTAL_MARKED.finditer(norm, lo, hi):
                    seen.add(m.start(1))
                    found.append(text.finding("POSTAL_CODE", m.start(1), m.end(1), self.score, self.name))
            if japanese:
                for m in _POSTAL_BARE.finditer(norm, lo, hi):
                    group = 1 if m.group(1) else 2
                    if m.start(group) not in seen:
                        found.append(
                            text.finding("POSTAL_CODE", m.start(group), m.end(group), 0.85, self.name)
                        )
        return found


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
_NUM = (
    rf"(?:{_UNIT}(?:{_UNIT_SUFFIX}|[{_DASH}の]))*"
    rf"(?:[0-9]+(?:番地|号)?|{_UNIT}(?:{_UNIT_SUFFIX}))"
    rf"(?![町丁条通0-9東西南北円%])"  # 「一番町」「北一条西」: the numeral belongs to the town name
)
_TOWN = rf"[{_KANJI}{_KATA}0-9のノ之が]{{0,14}}?"
_TOWN_ONLY = rf"[{_KANJI}{_KATA}]{{1,12}}"
_BUILDING_WORD = (
    "ビルディング|ビル|マンション|ハイツ|レジデンス|タワー|コーポ|荘|ハウス|アパート|ヒルズ|パレス|"
    "コート|プラザ|ヴィラ|テラス|館|棟|センター|ガーデン|スクエア|フラット|メゾン|ハイム|キャッスル"
)
_ROOM = r"(?:[0-9]{1,4}|[A-Z]|地下[0-9])(?:階|F|号室|号棟|号館)"
# A building name may hold hiragana (「さくらビル」) but not start with a particle, or 「1-2-3にある本社
# ビル」 would swallow the sentence.
_NAME = rf"[{_KANJI}{_KATA}\u3041-\u3096A-Za-z0-9・&'ノ]"
_NAME_RUN = rf"(?:(?![にのでをはがとへまかよやもす]){_NAME}{{0,24}}?)"
# Room or floor first, so 「ハイツ山下203号室」 is not cut after 「ハイツ」.
_BUILDING = (
    rf"(?:\s?{_NAME_RUN}{_ROOM}(?:\s?{_ROOM})?"
    rf"|\s?{_NAME_RUN}(?:{_BUILDING_WORD})(?:\s?[0-9]{{2,4}}(?![0-9年月日円件名人個時分%]))?"
    rf"|[{_DASH}][0-9]{{2,4}}(?![0-9]))"
)
_ADDRESS = re.compile(
    rf"(?:(?P<pref>{_PREFECTURES})|(?P<bare>{_BARE_PREFECTURES}))(?P<city>{_CITY})"
    rf"(?:(?P<num>{_TOWN}{_NUM}(?:{_BUILDING})?)|(?P<town>{_TOWN_ONLY}))?"
    rf"|(?P<anchor>{_DESIGNATED}|{_WARDS23})(?:[{_KANJI}]{{1,4}}?区)?{_TOWN}{_NUM}(?:{_BUILDING})?"
)
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
        if norm.isascii():
            return found
        resume = 0
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
        return found
