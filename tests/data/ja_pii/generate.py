"""Generate the Japanese PII evaluation set: ``dev.jsonl`` (tune on it) and ``test.jsonl`` (report on it).

    python tests/data/ja_pii/generate.py          # rewrite both files beside this script
    python tests/data/ja_pii/generate.py --check  # exit 1 if the files differ from what it generates

Each line is ``{"text": ..., "spans": [{"type", "start", "end"}], "lang": "ja"}``; offsets are Python
string offsets into ``text``. Types: MY_NUMBER, CORPORATE_NUMBER, PASSPORT, DRIVERS_LICENSE,
RESIDENCE_CARD, POSTAL_CODE, ADDRESS, PERSON, BANK_ACCOUNT, PHONE, EMAIL.

How it is built, so that scores on it mean something:
- Sentences come from templates (business e-mail, forms, chat, support logs; keigo and casual). The
  two splits use **disjoint templates**, different seeds, and disjoint halves of the name and address
  pools, so tuning on dev cannot memorise test.
- Numbers with check digits (マイナンバー, 法人番号, 運転免許証) are generated valid, and about a quarter
  of the time with a wrong check digit in the same context: those are **not labelled**.
- Hard negatives, never labelled: 注文番号, 伝票番号 and 追跡番号 (12-13 digits), amounts (¥1,234,567),
  product codes, dates, JAN codes (valid EAN-13), an IBAN with a wrong checksum.
- About a fifth of the values are written with full-width digits and letters (same length, so spans
  stay exact).
Span conventions: a postal code is the digits without 〒; an address runs from the prefecture (or city)
to the building and room; a bank account is the account digits only (ゆうちょ: 記号 through 番号;
IBAN: the whole IBAN); a name is 姓, 名 or 姓+名 (with the space between them), its honorific excluded;
a reading in parentheses after a name is a PERSON span of its own; a phone number includes +81.
"""

from __future__ import annotations

import importlib.util
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEEDS = {"dev": 1001, "test": 2002}
SIZES = {"dev": 500, "test": 1000}

_FULL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})

SURNAMES = [
    ("佐藤", "さとう"), ("鈴木", "すずき"), ("高橋", "たかはし"), ("田中", "たなか"), ("伊藤", "いとう"),
    ("渡辺", "わたなべ"), ("山本", "やまもと"), ("中村", "なかむら"), ("小林", "こばやし"),
    ("加藤", "かとう"), ("吉田", "よしだ"), ("山田", "やまだ"), ("佐々木", "ささき"), ("山口", "やまぐち"),
    ("松本", "まつもと"),
    ("井上", "いのうえ"), ("木村", "きむら"), ("清水", "しみず"), ("山崎", "やまざき"), ("森", "もり"),
    ("池田", "いけだ"), ("橋本", "はしもと"), ("阿部", "あべ"), ("石川", "いしかわ"), ("山下", "やました"),
    ("中島", "なかじま"), ("石井", "いしい"), ("小川", "おがわ"), ("前田", "まえだ"), ("岡田", "おかだ"),
    ("長谷川", "はせがわ"), ("藤田", "ふじた"), ("後藤", "ごとう"), ("近藤", "こんどう"),
    ("村上", "むらかみ"), ("遠藤", "えんどう"), ("青木", "あおき"), ("坂本", "さかもと"),
    ("斉藤", "さいとう"),
    ("福田", "ふくだ"),
    ("太田", "おおた"), ("西村", "にしむら"), ("藤井", "ふじい"), ("金子", "かねこ"), ("岡本", "おかもと"),
    ("藤原", "ふじわら"), ("中野", "なかの"), ("三浦", "みうら"), ("原田", "はらだ"), ("松田", "まつだ"),
    ("竹内", "たけうち"), ("小野", "おの"), ("中山", "なかやま"), ("石田", "いしだ"), ("和田", "わだ"),
    ("森田", "もりた"), ("上田", "うえだ"), ("原", "はら"), ("柴田", "しばた"), ("酒井", "さかい"),
    ("工藤", "くどう"), ("横山", "よこやま"), ("宮崎", "みやざき"), ("宮本", "みやもと"), ("内田", "うちだ"),
    ("高木", "たかぎ"), ("安藤", "あんどう"), ("谷口", "たにぐち"), ("大野", "おおの"), ("丸山", "まるやま"),
    ("今井", "いまい"), ("河野", "こうの"), ("藤本", "ふじもと"), ("村田", "むらた"), ("武田", "たけだ"),
    ("上野", "うえの"), ("杉山", "すぎやま"), ("増田", "ますだ"), ("平野", "ひらの"), ("大塚", "おおつか"),
    ("千葉", "ちば"), ("久保", "くぼ"), ("松井", "まつい"), ("小島", "こじま"), ("岩崎", "いわさき"),
    ("桜井", "さくらい"), ("野口", "のぐち"), ("松尾", "まつお"), ("野村", "のむら"), ("木下", "きのした"),
    ("菊地", "きくち"), ("佐野", "さの"), ("大西", "おおにし"), ("杉本", "すぎもと"), ("新井", "あらい"),
    ("東海林", "しょうじ"), ("勅使河原", "てしがわら"), ("五十嵐", "いがらし"), ("長尾", "ながお"),
]  # fmt: skip
GIVEN = [
    ("太郎", "たろう"), ("一郎", "いちろう"), ("健太", "けんた"), ("翔太", "しょうた"), ("大輔", "だいすけ"),
    ("直樹", "なおき"), ("誠", "まこと"), ("浩二", "こうじ"), ("隆", "たかし"), ("拓也", "たくや"),
    ("美咲", "みさき"), ("陽菜", "ひな"), ("結衣", "ゆい"), ("花子", "はなこ"), ("恵子", "けいこ"),
    ("由美", "ゆみ"), ("真由美", "まゆみ"), ("彩", "あや"), ("愛", "あい"), ("さくら", "さくら"),
    ("蓮", "れん"), ("悠真", "ゆうま"), ("大翔", "ひろと"), ("颯太", "そうた"), ("優子", "ゆうこ"),
    ("明美", "あけみ"), ("智子", "ともこ"), ("裕子", "ゆうこ"), ("修", "おさむ"), ("剛", "つよし"),
    ("和也", "かずや"), ("達也", "たつや"), ("亮", "りょう"), ("涼子", "りょうこ"), ("千尋", "ちひろ"),
    ("奈々", "なな"), ("健一", "けんいち"), ("正人", "まさと"), ("美穂", "みほ"), ("香織", "かおり"),
]  # fmt: skip
ROMAJI = ["taro", "hanako", "k.sato", "yamada", "m-suzuki", "info", "tanaka.ichiro", "yui_ito", "support"]
DOMAINS = ["example.co.jp", "example.com", "sample.ne.jp", "test.or.jp", "mail.example.jp", "corp.example"]
# (prefecture, city, towns): real places, so the address detector is tested on names it has never seen.
PLACES = [
    ("東京都", "千代田区", ["丸の内", "神田神保町", "霞が関", "永田町"]),
    ("東京都", "渋谷区", ["神宮前", "道玄坂", "恵比寿南", "代々木"]),
    ("東京都", "世田谷区", ["三軒茶屋", "北沢", "成城", "用賀"]),
    ("東京都", "港区", ["六本木", "赤坂", "芝浦", "白金台"]),
    ("東京都", "新宿区", ["西新宿", "神楽坂", "高田馬場", "四谷"]),
    ("東京都", "八王子市", ["旭町", "明神町", "南大沢"]),
    ("東京都", "武蔵野市", ["吉祥寺本町", "中町", "境"]),
    ("神奈川県", "横浜市中区", ["山下町", "本町", "元町"]),
    ("神奈川県", "川崎市川崎区", ["駅前本町", "砂子"]),
    ("神奈川県", "藤沢市", ["鵠沼海岸", "湘南台"]),
    ("大阪府", "大阪市北区", ["梅田", "中之島", "天神橋"]),
    ("大阪府", "大阪市中央区", ["心斎橋筋", "難波", "本町"]),
    ("大阪府", "堺市堺区", ["大町東", "中瓦町"]),
    ("京都府", "京都市左京区", ["下鴨本町", "吉田本町"]),
    ("愛知県", "名古屋市中村区", ["名駅", "椿町"]),
    ("愛知県", "豊田市", ["トヨタ町", "若宮町"]),
    ("北海道", "札幌市中央区", ["北一条西", "南三条西", "大通西"]),
    ("北海道", "旭川市", ["宮下通", "常盤通"]),
    ("福岡県", "福岡市博多区", ["博多駅前", "中洲", "祇園町"]),
    ("福岡県", "北九州市小倉北区", ["魚町", "京町"]),
    ("埼玉県", "さいたま市大宮区", ["桜木町", "大門町"]),
    ("埼玉県", "川越市", ["元町", "新富町"]),
    ("千葉県", "千葉市中央区", ["富士見", "中央"]),
    ("千葉県", "船橋市", ["本町", "前原西"]),
    ("兵庫県", "神戸市中央区", ["三宮町", "元町通", "港島"]),
    ("宮城県", "仙台市青葉区", ["一番町", "中央", "国分町"]),
    ("広島県", "広島市中区", ["紙屋町", "八丁堀"]),
    ("静岡県", "浜松市中区", ["砂山町", "鍛冶町"]),
    ("長野県", "松本市", ["中央", "深志"]),
    ("沖縄県", "那覇市", ["久茂地", "おもろまち"]),
    ("茨城県", "つくば市", ["吾妻", "竹園"]),
    ("新潟県", "新潟市中央区", ["万代", "古町通"]),
    ("石川県", "金沢市", ["広坂", "香林坊"]),
    ("熊本県", "熊本市中央区", ["手取本町", "水道町"]),
    ("鹿児島県", "鹿児島市", ["東千石町", "山之口町"]),
    ("岡山県", "倉敷市", ["阿知", "中央"]),
    ("群馬県", "高崎市", ["八島町", "連雀町"]),
    ("奈良県", "奈良市", ["三条本町", "登大路町"]),
]  # fmt: skip
BUILDING_NAMES = [
    "サンシャイン",
    "グリーン",
    "さくら",
    "富士",
    "中央",
    "パーク",
    "リバーサイド",
    "日本橋",
    "青山",
    "第一",
]
BANKS = ["みずほ銀行", "三菱UFJ銀行", "三井住友銀行", "りそな銀行", "横浜銀行", "千葉銀行", "城南信用金庫",
         "京都信用金庫",         "楽天銀行", "住信SBIネット銀行", "静岡銀行", "ＪＡバンク"]  # fmt: skip
BRANCHES = [
    "渋谷支店",
    "新宿支店",
    "本店営業部",
    "梅田支店",
    "横浜駅前支店",
    "札幌支店",
    "天神支店",
    "第一営業部",
]
COMPANIES = [
    "株式会社サンプル",
    "山田商事株式会社",
    "有限会社テスト工業",
    "株式会社ABCシステムズ",
    "合同会社みらい",
]
KANJI_DIGITS = "〇一二三四五六七八九"


def _kanji(n: int) -> str:
    """1..99 in kanji numerals (十, 二十三)."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else KANJI_DIGITS[tens]) + "十" if tens else "") + (
        KANJI_DIGITS[ones] if ones else ""
    )


class Gen:
    """Values for one split; each returns the string and whether it is a real (labelled) value."""

    def __init__(self, rng: random.Random, half: int) -> None:
        self.r = rng
        self.surnames = SURNAMES[half::2]
        self.given = GIVEN[half::2]
        self.places = PLACES[half::2]
        self.person: tuple[str, str] = ("", "")

    def digits(self, n: int) -> str:
        return "".join(self.r.choice("0123456789") for _ in range(n))

    def wide(self, s: str, p: float = 0.2) -> str:
        return s.translate(_FULL) if self.r.random() < p else s

    def valid(self) -> bool:
        return self.r.random() > 0.25

    def my_number(self) -> tuple[str, bool]:
        body = self.digits(11)
        r = sum(int(p) * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(body[::-1], 1)) % 11
        check = 0 if r <= 1 else 11 - r
        ok = self.valid()
        digits = body + str(check if ok else (check + self.r.randint(1, 9)) % 10)
        sep = self.r.choice(["", "", " ", "-"])
        return self.wide(sep.join([digits[:4], digits[4:8], digits[8:]])), ok

    def corporate(self) -> tuple[str, bool]:
        body = self.digits(12)
        check = 9 - sum(int(p) * (1 if n % 2 else 2) for n, p in enumerate(body[::-1], 1)) % 9
        ok = self.valid()
        return self.wide(str(check if ok else check % 9 + 1) + body), ok

    def licence(self) -> tuple[str, bool]:
        area = self.r.choice([10, 11, 20, 22, 30, 30, 30, 43, 44, 45, 54, 62, 63, 73, 90, 97])
        head = f"{area}{self.r.randint(0, 99):02d}{self.digits(6)}"
        check = (
            11 - sum(int(d) * w for d, w in zip(head, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
        ) % 10
        ok = self.valid()
        return self.wide(
            head + str(check if ok else (check + self.r.randint(1, 9)) % 10) + self.r.choice("0001")
        ), ok

    def passport(self) -> tuple[str, bool]:
        return self.wide(self.r.choice(["TK", "TR", "TZ", "MU", "ME", "TS", "MZ"]) + self.digits(7)), True

    def residence(self) -> tuple[str, bool]:
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        return self.wide("".join(self.r.choice(letters) for _ in range(2)) + self.digits(8) + "".join(
            self.r.choice(letters) for _ in range(2))), True  # fmt: skip

    def postal(self) -> tuple[str, bool]:
        code = f"{self.r.randint(100, 999)}{self.digits(4)}"
        return self.wide(code if self.r.random() < 0.2 else f"{code[:3]}-{code[3:]}"), True

    def address(self) -> tuple[str, bool]:
        pref, city, towns = self.r.choice(self.places)
        if pref in ("東京都", "大阪府") and self.r.random() < 0.15:
            pref = pref[:-1]  # 「東京渋谷区…」: bare prefecture before a ward
        a, b, c = self.r.randint(1, 9), self.r.randint(1, 30), self.r.randint(1, 40)
        style = self.r.randrange(7)
        block = [f"{a}-{b}-{c}", f"{a}丁目{b}番{c}号", f"{_kanji(a)}丁目{_kanji(b)}番{_kanji(c)}号",
                 f"{a}丁目{b}-{c}", f"{b * 7}番地", f"{b * 3}番地{a}", f"{a}-{b}"][style]  # fmt: skip
        block = self.wide(block, 0.15)
        building = ""
        roll = self.r.random()
        name = self.r.choice(BUILDING_NAMES)
        if roll < 0.2:
            building = f"{name}ビル{self.r.randint(2, 12)}階"
        elif roll < 0.35:
            building = f"{name}マンション{self.r.randint(1, 9)}0{self.r.randint(1, 9)}号室"
        elif roll < 0.45:
            building = f"ハイツ{name}{self.r.randint(1, 3)}0{self.r.randint(1, 9)}号室"
        elif roll < 0.5:
            building = f"{name}レジデンス{self.r.randint(1, 20)}F"
        sep = self.r.choice(["", " ", "　"]) if building else ""
        return f"{pref}{city}{self.r.choice(towns)}{block}{sep}{building}", True

    def surname(self) -> tuple[str, bool]:
        self.person = self.r.choice(self.surnames)
        return self.person[0], True

    def fullname(self) -> tuple[str, bool]:
        (s, sk), (g, gk) = self.r.choice(self.surnames), self.r.choice(self.given)
        sep = self.r.choice(["", "", " ", "　"])
        self.person = (f"{s}{sep}{g}", f"{sk}{' ' if sep else ''}{gk}")
        return self.person[0], True

    def reading(self) -> tuple[str, bool]:
        kana = self.person[1]
        if self.r.random() < 0.4:
            kana = "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in kana)
        return kana, True

    def phone(self) -> tuple[str, bool]:
        d = self.digits
        form = self.r.randrange(12)
        prefix = self.r.choice(["090", "080", "070", "060"])
        value = [
            f"{prefix}-{d(4)}-{d(4)}", f"{prefix}{d(8)}", f"050-{d(4)}-{d(4)}", f"03-{d(4)}-{d(4)}",
            f"06-{d(4)}-{d(4)}", f"0{self.r.choice(['45', '52', '11', '92', '75'])}-{d(3)}-{d(4)}",
            f"0120-{d(3)}-{d(3)}", f"0800-{d(3)}-{d(4)}", f"0570-{d(3)}-{d(3)}",
            f"+81-{prefix[1:]}-{d(4)}-{d(4)}", f"+81 3 {d(4)} {d(4)}", f"(03){d(4)}-{d(4)}",
        ][form]  # fmt: skip
        return self.wide(value), True

    def email(self) -> tuple[str, bool]:
        local = self.r.choice(ROMAJI) + (str(self.r.randint(1, 99)) if self.r.random() < 0.4 else "")
        return f"{local}@{self.r.choice(DOMAINS)}", True

    def bank(self) -> tuple[str, bool]:
        return self.wide(f"{self.r.randint(1, 9)}{self.digits(6)}"), True

    def yucho(self) -> tuple[str, bool]:
        return self.wide(f"1{self.digits(3)}0-{self.digits(7)}1"), True

    def yucho_kigo(self) -> tuple[str, bool]:
        """記号 digits through 番号 digits; the template writes 「記号」 before the slot."""
        sep = self.r.choice([" 番号", "、番号", " 番号:", "番号"])
        return self.wide(f"1{self.digits(3)}0{sep}{self.digits(7)}1"), True

    def iban(self) -> tuple[str, bool]:
        country, length = self.r.choice([("DE", 22), ("GB", 22), ("FR", 27), ("NL", 18)])
        bban = ("WEST" if country == "GB" else "ABNA" if country == "NL" else "") + self.digits(length - 4)
        bban = bban[: length - 4]
        num = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
        ok = self.valid()
        check = 98 - num % 97 if ok else (98 - num % 97) % 97 + 1
        compact = f"{country}{check:02d}{bban}"
        spaced = " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
        return (spaced if self.r.random() < 0.5 else compact), ok

    # Hard negatives: never labelled.
    def order(self) -> tuple[str, bool]:
        return self.wide(
            self.r.choice([self.digits(12), self.digits(13), f"A{self.digits(9)}", self.digits(7)])
        ), False

    def tracking(self) -> tuple[str, bool]:
        return self.wide(
            self.r.choice([self.digits(12), f"{self.digits(4)}-{self.digits(4)}-{self.digits(4)}"])
        ), False

    def jan(self) -> tuple[str, bool]:
        body = self.r.choice(["45", "49"]) + self.digits(10)
        check = (10 - sum(int(x) * (3 if i % 2 else 1) for i, x in enumerate(body)) % 10) % 10
        return body + str(check), False

    def amount(self) -> tuple[str, bool]:
        n = self.r.randint(1000, 9_999_999)
        return self.r.choice([f"¥{n:,}", f"{n:,}円", f"{n}円", f"￥{n:,}"]), False

    def product(self) -> tuple[str, bool]:
        letters = "ABCDEFGHKLMNPRSTXYZ"
        a = "".join(self.r.choice(letters) for _ in range(2))
        return self.r.choice(
            [f"{a}-{self.digits(4)}", f"{a}{self.digits(7)}", f"{a}{self.digits(3)}-{self.digits(3)}"]
        ), False

    def date(self) -> tuple[str, bool]:
        y, m, d = self.r.randint(2019, 2026), self.r.randint(1, 12), self.r.randint(1, 28)
        return self.r.choice(
            [f"{y}-{m:02d}-{d:02d}", f"{y}年{m}月{d}日", f"{y}/{m}/{d}", f"{m}月{d}日"]
        ), False

    def time(self) -> tuple[str, bool]:
        return f"{self.r.randint(9, 18)}:{self.r.choice(['00', '15', '30', '45'])}", False

    def company(self) -> tuple[str, bool]:
        return self.r.choice(COMPANIES), False

    def bankname(self) -> tuple[str, bool]:
        return self.r.choice(BANKS), False

    def branch(self) -> tuple[str, bool]:
        return self.r.choice(BRANCHES), False


LABELS = {
    "my_number": "MY_NUMBER", "corporate": "CORPORATE_NUMBER", "licence": "DRIVERS_LICENSE",
    "passport": "PASSPORT", "residence": "RESIDENCE_CARD", "postal": "POSTAL_CODE", "address": "ADDRESS",
    "surname": "PERSON", "fullname": "PERSON", "reading": "PERSON", "phone": "PHONE", "email": "EMAIL",
    "bank": "BANK_ACCOUNT", "yucho": "BANK_ACCOUNT", "yucho_kigo": "BANK_ACCOUNT", "iban": "BANK_ACCOUNT",
}  # fmt: skip
_SLOT = re.compile(r"\{(\w+)\}")


def render(template: str, gen: Gen) -> tuple[str, list[dict[str, Any]]]:
    """Fill ``{slot}``s left to right, recording the span of every labelled value."""
    out: list[str] = []
    spans: list[dict[str, Any]] = []
    pos = 0
    length = 0
    for m in _SLOT.finditer(template):
        literal = template[pos : m.start()]
        out.append(literal)
        length += len(literal)
        value, real = getattr(gen, m.group(1))()
        if real and m.group(1) in LABELS:
            spans.append({"type": LABELS[m.group(1)], "start": length, "end": length + len(value)})
        out.append(value)
        length += len(value)
        pos = m.end()
    out.append(template[pos:])
    return "".join(out), spans


def _templates() -> dict[str, list[str]]:
    """The sentence templates, kept in ``templates.py`` beside this file (loaded by path, not import)."""
    spec = importlib.util.spec_from_file_location("ja_pii_templates", HERE / "templates.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    templates: dict[str, list[str]] = module.TEMPLATES
    assert not set(templates["dev"]) & set(templates["test"]), "dev and test templates must be disjoint"
    return templates


def generate(split: str) -> list[dict[str, Any]]:
    """The records of one split, deterministically from its seed."""
    rng = random.Random(SEEDS[split])
    gen = Gen(rng, half=0 if split == "dev" else 1)
    pool: list[str] = _templates()[split]
    records = []
    for _ in range(SIZES[split]):
        parts = [rng.choice(pool) for _ in range(rng.choice([1, 1, 2, 2, 3]))]
        texts, spans = [], []
        offset = 0
        for template in parts:
            text, found = render(template, gen)
            spans += [{**s, "start": s["start"] + offset, "end": s["end"] + offset} for s in found]
            texts.append(text)
            offset += len(text) + 1
        records.append({"text": "\n".join(texts), "spans": spans, "lang": "ja"})
    return records


def dump(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def main(argv: list[str]) -> int:
    stale = []
    for split in SEEDS:
        path = HERE / f"{split}.jsonl"
        data = dump(generate(split))
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != data:
                stale.append(path.name)
        else:
            path.write_text(data, encoding="utf-8")
    if stale:
        print("stale:", ", ".join(stale), file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
