"""Generate the Japanese PII evaluation set: ``dev.jsonl`` (tune on it), ``test.jsonl`` (report on it)
and ``holdout.jsonl`` (written later, from ``templates_holdout.py``, and never tuned on).

    python tests/data/ja_pii/generate.py          # rewrite the files beside this script
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
SEEDS = {"dev": 1001, "test": 2002, "holdout": 3003}
SIZES = {"dev": 500, "test": 1000, "holdout": 800}

_FULL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def _load(name: str) -> Any:
    """A module beside this file, loaded by path (this directory is not a package)."""
    spec = importlib.util.spec_from_file_location(f"ja_pii_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_POOLS = _load("pools")
SURNAMES = _POOLS.SURNAMES
GIVEN = _POOLS.GIVEN
ROMAJI = _POOLS.ROMAJI
DOMAINS = _POOLS.DOMAINS
PLACES = _POOLS.PLACES
BUILDING_NAMES = _POOLS.BUILDING_NAMES
BANKS = _POOLS.BANKS
BRANCHES = _POOLS.BRANCHES
COMPANIES = _POOLS.COMPANIES
KANJI_DIGITS = _POOLS.KANJI_DIGITS
DEV_CONDOS = _POOLS.DEV_CONDOS
DEV_BUILDINGS = _POOLS.DEV_BUILDINGS
DEV_HIRA_PLACES = _POOLS.DEV_HIRA_PLACES
DEV_SURNAMES1 = _POOLS.DEV_SURNAMES1

_KATAKANA = str.maketrans({chr(c): chr(c + 0x60) for c in range(0x3041, 0x3097)})


def _kanji(n: int) -> str:
    """1..99 in kanji numerals (十, 二十三)."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else KANJI_DIGITS[tens]) + "十" if tens else "") + (
        KANJI_DIGITS[ones] if ones else ""
    )


class Gen:
    """Values for one split; each returns the string and whether it is a real (labelled) value."""

    def __init__(self, rng: random.Random, half: int, pools: Any = None) -> None:
        self.r = rng
        if pools is None:
            self.surnames = SURNAMES[half::2]
            self.given = GIVEN[half::2]
            self.places = PLACES[half::2]
            self.condos, self.buildings = DEV_CONDOS, DEV_BUILDINGS
            self.hplaces = self.places + DEV_HIRA_PLACES
        else:  # the holdout split: pools of its own
            self.surnames, self.given, self.places = pools.SURNAMES, pools.GIVEN, pools.PLACES
            self.condos, self.buildings = pools.CONDOS, pools.BUILDINGS
            self.hplaces = self.places
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

    def haddress(self) -> tuple[str, bool]:
        """An address as people type it: prefecture sometimes left out, 「ー」 for a dash, a room
        number after a plain condominium name (「パークアクシス豊洲 1203」) or after the block."""
        pref, city, towns = self.r.choice(self.hplaces)
        town = self.r.choice(towns)
        a, b, c = self.r.randint(1, 9), self.r.randint(1, 30), self.r.randint(1, 40)
        block = self.r.choice(
            [f"{a}-{b}-{c}", f"{a}丁目{b}-{c}", f"{a}丁目{b}番{c}号", f"{a}丁目{b}番地{c}",
             f"{b * 11}番地の{a}", f"{a}ー{b}ー{c}", f"{_kanji(a)}丁目{b}-{c}", f"{b}-{c}"]
        )  # fmt: skip
        block = self.wide(block, 0.25)
        room = f"{self.r.randint(1, 15)}0{self.r.randint(1, 9)}"
        sep = self.r.choice(["", " ", " ", "　"])
        roll = self.r.random()
        building = ""
        if roll < 0.25:
            building = f"{sep}{self.r.choice(self.condos)}{town[:2]}{self.r.choice(['', ' ', '　'])}{room}"
        elif roll < 0.35:
            building = f"{sep}{self.r.choice(self.condos)}{town[:2]}{room}号室"
        elif roll < 0.45:
            building = f"-{room}"
        elif roll < 0.55:
            building = (
                f"{sep}{self.r.choice(self.buildings)}ビル{self.r.choice(['', ' '])}{self.r.randint(2, 9)}F"
            )
        head = "" if self.r.random() < 0.15 else pref
        return f"{head}{city}{town}{block}{building}", True

    def surname1(self) -> tuple[str, bool]:
        self.person = self.r.choice(DEV_SURNAMES1)
        return self.person[0], True

    def given_name(self) -> tuple[str, bool]:
        return self.r.choice(self.given)[0], True

    def kananame(self) -> tuple[str, bool]:
        """A full name in katakana (フリガナ); ``samename`` then gives the same person in kanji."""
        (s, sk), (g, gk) = self.r.choice(self.surnames), self.r.choice(self.given)
        sep = self.r.choice([" ", "　", ""])
        self.person = (f"{s}{sep}{g}", f"{sk}{sep}{gk}")
        return self.person[1].translate(_KATAKANA), True

    def samename(self) -> tuple[str, bool]:
        return self.person[0], True

    def partno(self) -> tuple[str, bool]:
        """Part numbers and codes shaped like a postal code (never labelled)."""
        return self.r.choice(
            [f"{self.digits(3)}-{self.digits(4)}", self.digits(7), f"{self.digits(3)}-{self.digits(4)}"]
        ), False

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
    "haddress": "ADDRESS", "given_name": "PERSON", "kananame": "PERSON", "samename": "PERSON",
    "surname1": "PERSON",
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
    """The sentence templates: ``templates.py`` (dev, test) and ``templates_holdout.py``."""
    templates: dict[str, list[str]] = dict(_load("templates").TEMPLATES)
    holdout = _load("templates_holdout")
    templates["holdout"] = holdout.TEMPLATES
    assert not set(templates["dev"]) & set(templates["test"]), "dev and test templates must be disjoint"
    assert not set(holdout.TEMPLATES) & (set(templates["dev"]) | set(templates["test"]))
    assert not {s for s, _ in holdout.SURNAMES} & {s for s, _ in SURNAMES}, "holdout names must be new"
    return templates


def generate(split: str) -> list[dict[str, Any]]:
    """The records of one split, deterministically from its seed."""
    rng = random.Random(SEEDS[split])
    pools = _load("templates_holdout") if split == "holdout" else None
    gen = Gen(rng, half=0 if split == "dev" else 1, pools=pools)
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
