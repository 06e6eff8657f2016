"""Synthetic training text for the English PERSON/ADDRESS tagger (``scripts/train_en_ner.py``).

Faker (many Latin-script locales, plus transliterated Cyrillic and romanised Japanese/Chinese names)
fills templates written here: e-mails, chat, forms, support tickets, letters, questions and answers,
lists, quoted replies, multi-line addresses. Whole documents are sometimes lower-cased, upper-cased or
quoted with "> ". Organisations, cities, countries, dates, jobs, products and headings fill other slots
as negatives. Labels are character spans; ``documents`` yields (text, [(start, end, label)]).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator

from faker import Faker

LOCALES = tuple(
    (
        "en_US en_US en_US en_GB en_GB en_AU en_CA en_IE en_NZ en_IN de_DE de_AT de_CH fr_FR fr_CA es_ES "
        "es_MX it_IT nl_NL nl_BE pt_BR pt_PT pl_PL sv_SE fi_FI da_DK no_NO cs_CZ sk_SK hu_HU ro_RO hr_HR "
        "sl_SI tr_TR id_ID et_EE lv_LV lt_LT"
    ).split()
)
NAME_ONLY = ("ru_RU", "bg_BG", "uk_UA", "ja_JP", "zh_CN", "el_GR")
_CYR = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
        "a b v g d e yo zh z i y k l m n o p r s t u f kh ts ch sh shch  y  e yu ya i yi ye g".split(" "),
        strict=True,
    )
)
_GREEK = dict(
    zip(
        "αβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώ",
        "a v g d e z i th i k l m n x o p r s s t y f ch ps o a e i i o y o".split(),
        strict=True,
    )
)

from en_ner_templates import (  # noqa: E402 - a sibling script module
    TEMPLATES_ADDRESS,
    TEMPLATES_HOLDOUT,
    TEMPLATES_NEGATIVE,
    TEMPLATES_PERSON,
)


def _translit(word: str, table: dict[str, str]) -> str:
    out = "".join(table.get(c, table.get(c.lower(), c)) for c in word.lower())
    return out[:1].upper() + out[1:]


class Sampler:
    """Faker instances per locale and the slot fillers."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
        self.fakers = {loc: Faker(loc) for loc in (*LOCALES, *NAME_ONLY)}
        for i, f in enumerate(self.fakers.values()):
            f.seed_instance(seed * 1000 + i)
        self.en = self.fakers["en_US"]

    def faker(self, names: bool = False) -> tuple[str, Faker]:
        pool = LOCALES + NAME_ONLY if names and self.rng.random() < 0.25 else LOCALES
        loc = self.rng.choice(pool)
        return loc, self.fakers[loc]

    def first(self) -> str:
        return self._name("first")

    def last(self) -> str:
        return self._name("last")

    def _name(self, kind: str) -> str:
        loc, f = self.faker(names=True)
        if loc in ("ja_JP", "zh_CN"):
            return str(getattr(f, f"{kind}_romanized_name")())
        value = str(getattr(f, f"{kind}_name")())
        if loc in ("ru_RU", "bg_BG", "uk_UA"):
            return _translit(value, _CYR)
        if loc == "el_GR":
            return _translit(value, _GREEK)
        return value

    def person(self) -> str:
        r = self.rng.random()
        first, last = self.first(), self.last()
        if r < 0.45:
            name = f"{first} {last}"
        elif r < 0.55:
            name = f"{first} {self.rng.choice('ABCDEFGHJKLMNOPRSTW')}. {last}"
        elif r < 0.6:
            name = f"{first} {self.rng.choice('ABCDEFGHJKLMNOPRSTW')} {last}"
        elif r < 0.67:
            name = f"{first} {self.first()} {last}"
        elif r < 0.77:
            name = first
        elif r < 0.82:
            name = last
        elif r < 0.86:
            name = f"{first[0]}. {last}"
        elif r < 0.9:
            particle = self.rng.choice(["van", "de", "van der", "von", "da", "di", "de la", "bin", "del"])
            name = f"{first} {particle} {last}"
        elif r < 0.93:
            name = f"{first} {last}-{self.last()}"
        elif r < 0.96:
            name = f"{last} {first}"
        else:
            name = f"{first} {last} {self.rng.choice(['Jr.', 'Sr.', 'III', 'PhD'])}"
        c = self.rng.random()
        return name.lower() if c < 0.04 else name.upper() if c < 0.07 else name

    def address(self) -> str:
        _, f = self.faker()
        r = self.rng.random()
        text = str(f.address()) if r < 0.75 else str(f.street_address())
        if r > 0.97:
            text = f"{f.building_number()} {text}"
        sep = self.rng.random()
        if sep < 0.45:
            text = re.sub(r"\s*\n\s*", ", ", text)
        elif sep < 0.55:
            text = text.replace("\n", " ")
        if self.rng.random() < 0.15 and r < 0.75:
            text += self.rng.choice([", ", "\n", " "]) + str(f.current_country())
        c = self.rng.random()
        return text.lower() if c < 0.05 else text.upper() if c < 0.08 else text

    def street(self) -> str:
        _, f = self.faker()
        return str(f.street_address())

    def fill(self, slot: str) -> tuple[str, str]:
        """The text for a slot and its label."""
        rng, en = self.rng, self.en
        _, f = self.faker()
        fillers: dict[str, Callable[[], tuple[str, str]]] = {
            "P": lambda: (self.person(), "PERSON"),
            "F": lambda: (self.first(), "PERSON"),
            "L": lambda: (self.last(), "PERSON"),
            "A": lambda: (self.address(), "ADDRESS"),
            "S": lambda: (self.street(), "ADDRESS"),
            "T": lambda: (
                rng.choice(["Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Mr", "Ms", "Dr", "Sir", "Miss"]),
                "O",
            ),
            "C": lambda: (str(f.city()), "O"),
            "CO": lambda: (str(f.company()), "O"),
            "CT": lambda: (str(en.country()), "O"),
            "ST": lambda: (str(en.state()), "O"),
            "D": lambda: (
                str(rng.choice([en.date(), en.date("%B %d, %Y"), en.date("%d/%m/%Y"), en.date("%b %d")])),
                "O",
            ),
            "DAY": lambda: (str(en.day_of_week()), "O"),
            "MONTH": lambda: (str(en.month_name()), "O"),
            "PH": lambda: (str(f.phone_number()), "O"),
            "E": lambda: (str(f.email()), "O"),
            "J": lambda: (str(en.job()), "O"),
            "N": lambda: (
                str(rng.choice([rng.randint(1, 99), rng.randint(100, 99999), en.bothify("??-####")])),
                "O",
            ),
            "M": lambda: (
                rng.choice(["$", "€", "£", ""]) + f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d}",
                "O",
            ),
            "H": lambda: (str(en.catch_phrase()).title(), "O"),
            "PR": lambda: (
                rng.choice(
                    [
                        "iPhone 15 Pro",
                        "Model X",
                        "Galaxy S24",
                        "ThinkPad T14",
                        "Surface Pro",
                        "Kindle Paperwhite",
                        "Office 365",
                        "Windows 11",
                        "PlayStation 5",
                        "Echo Dot",
                    ]
                ),
                "O",
            ),
            "X": lambda: (str(en.sentence(nb_words=rng.randint(4, 14))), "O"),
        }
        return fillers[slot]()


_SLOT = re.compile(r"\{([A-Z]+)\}")


def _render(template: str, sampler: Sampler) -> tuple[str, list[tuple[int, int, str]]]:
    out: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0
    size = 0
    for m in _SLOT.finditer(template):
        literal = template[pos : m.start()]
        out.append(literal)
        size += len(literal)
        value, label = sampler.fill(m.group(1))
        if label != "O":
            spans.append((size, size + len(value), label))
        out.append(value)
        size += len(value)
        pos = m.end()
    out.append(template[pos:])
    return "".join(out), spans


def _templates(block: str) -> list[str]:
    return [line.replace("\\n", "\n") for line in block.splitlines() if line.strip()]


PERSON_T, ADDRESS_T, NEGATIVE_T, HOLDOUT_T = (
    _templates(b) for b in (TEMPLATES_PERSON, TEMPLATES_ADDRESS, TEMPLATES_NEGATIVE, TEMPLATES_HOLDOUT)
)


# Slots for sentences of random English words: the entity's neighbours are then words the model has no
# context feature for, so it must learn from the entity's own shape, affixes and lexicon features.
_RANDOM_SLOTS = ["P", "P", "P", "F", "L", "A", "A", "S", "C", "CO", "CT", "ST", "D", "PR", "J", "DAY", "H"]


def _random_sentence(sampler: Sampler) -> str:
    rng = sampler.rng
    words = [str(w) for w in sampler.en.words(rng.randint(3, 16))]
    if rng.random() < 0.2:
        words.insert(rng.randint(0, len(words)), "I")
    words.insert(rng.randint(0, len(words)), "{" + rng.choice(_RANDOM_SLOTS) + "}")
    if rng.random() < 0.3:
        words.insert(rng.randint(0, len(words)), "{" + rng.choice(_RANDOM_SLOTS) + "}")
    sentence = " ".join(words)
    return sentence[:1].upper() + sentence[1:] + rng.choice([".", ".", "?", "!", ""])


def context_vocabulary() -> set[str]:
    """Lower-cased words of the template literals: the only words whose identity is a feature."""
    from sekisho.guardrails.detectors.en_ner import TOKEN

    words: set[str] = set()
    for t in (*PERSON_T, *ADDRESS_T, *NEGATIVE_T):
        words.update(w.lower() for w in TOKEN.findall(_SLOT.sub(" ", t)))
    return words


def documents(
    seed: int, count: int, holdout: bool = False
) -> Iterator[tuple[str, list[tuple[int, int, str]]]]:
    """``count`` documents of 1-4 filled templates; ``holdout`` draws from the held-out templates only."""
    sampler = Sampler(seed)
    rng = sampler.rng
    for _ in range(count):
        parts: list[tuple[str, list[tuple[int, int, str]]]] = []
        for _ in range(rng.randint(1, 4)):
            pool = rng.choices([PERSON_T, ADDRESS_T, NEGATIVE_T], weights=[4, 3, 3])[0]
            if holdout:
                pool = HOLDOUT_T
            elif rng.random() < 0.35:
                pool = [_random_sentence(sampler)]
            parts.append(_render(rng.choice(pool), sampler))
        text = ""
        spans: list[tuple[int, int, str]] = []
        for piece, piece_spans in parts:
            if text:
                text += rng.choice([" ", "\n", "\n\n", " ", ". "])
            spans += [(a + len(text), b + len(text), lab) for a, b, lab in piece_spans]
            text += piece
        r = rng.random()
        if r < 0.12:
            text = text.lower()
        elif r < 0.18:
            text = text.upper()
        if rng.random() < 0.06:
            text, spans = _quote(text, spans)
        yield text, spans


def _quote(text: str, spans: list[tuple[int, int, str]]) -> tuple[str, list[tuple[int, int, str]]]:
    """Prefix every line with "> " as a quoted e-mail reply does; spans shift with the text."""
    shift = [0] * (len(text) + 1)
    added = 2
    for i, c in enumerate(text):
        shift[i] = added
        if c == "\n":
            added += 2
    shift[len(text)] = added
    quoted = "> " + text.replace("\n", "\n> ")
    return quoted, [(a + shift[a], b + shift[b - 1] if b else b, lab) for a, b, lab in spans]
