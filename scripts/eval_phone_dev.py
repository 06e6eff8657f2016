"""Synthetic dev figures for the PHONE detector: Faker numbers of ~35 locales in templates with and
without phone words, and hard negatives (dates, times, amounts, order numbers, postal codes, IBANs).

    .venv/bin/python scripts/eval_phone_dev.py [--errors]
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "scripts")]

from en_ner_data import LOCALES  # noqa: E402
from faker import Faker  # noqa: E402

from sekisho.guardrails.detectors.contact import PhoneDetector  # noqa: E402
from sekisho.guardrails.text import Text  # noqa: E402

CUED = [
    "Call me at {}.",
    "Phone: {}",
    "Tel. {}",
    "My mobile is {}",
    "You can reach me on {}.",
    "Fax: {}",
    "cell {}",
    "Please call {} after 5pm.",
    "Contact number: {}",
    "phone number {} (home)",
    "TEL {}",
    "☎ {}",
    "電話: {}",
    "携帯 {}",
    "Text me on {} tomorrow.",
    "Office phone - {}",
]
BARE = ["{}", "{} is my number.", "Name: {n}\n{}", "{n}\n{}", "Reach {n} at {} or by e-mail.", "{n}, {}"]
NEGATIVE = [
    "Order {o} was shipped on {d}.",
    "Invoice {o}: total {m}",
    "The meeting is on {d} at {t}.",
    "Postal code {z}",
    "IBAN {i}",
    "Account number {o}",
    "Tracking: {o}",
    "Version {v} released {d}.",
    "Paid {m} on {d}",
    "Reference {o}, ticket {o}",
    "Card ending 1234, expires 04/27.",
    "Call the office about order {o}.",
    "Phone bill: {m} for {d}.",
    "[{d} {t}] note added",
]


def main() -> None:
    rng = random.Random(3)  # noqa: S311 - reproducible data
    fakers = [Faker(loc) for loc in LOCALES]
    for i, f in enumerate(fakers):
        f.seed_instance(i)
    det = PhoneDetector()
    stats = {"cued": [0, 0], "bare": [0, 0], "fp": 0, "neg": 0}
    errors = "--errors" in sys.argv
    for _ in range(3000):
        f = rng.choice(fakers)
        try:
            number = str(f.phone_number())
        except AttributeError:
            continue
        kind = rng.choice(["cued", "cued", "bare"])
        template = rng.choice(CUED if kind == "cued" else BARE)
        text = template.format(number, n=f.name())
        start = text.index(number)
        found = [x for x in det.detect(Text(text)) if x.score >= 0.5]
        ok = any(x.start <= start + 1 and x.end >= start + len(number) - 1 for x in found)
        stats[kind][0] += ok
        stats[kind][1] += 1
        if errors and not ok:
            print("MISS", kind, repr(text))
        en = fakers[0]
        neg = rng.choice(NEGATIVE).format(
            o=rng.choice(
                [str(rng.randint(10**6, 10**11)), en.bothify("###-#######"), en.bothify("##-####-####")]
            ),
            d=rng.choice([en.date(), en.date("%d/%m/%Y"), en.date("%d.%m.%Y")]),
            t=en.time("%H:%M"),
            m=rng.choice(["$", "€", "¥"]) + f"{rng.randint(1000, 9999999):,}",
            z=str(f.postcode()),
            i=en.iban(),
            v=f"{rng.randint(1, 20)}.{rng.randint(0, 99)}.{rng.randint(0, 999)}",
        )
        bad = [x for x in det.detect(Text(neg)) if x.score >= 0.5]
        stats["neg"] += 1
        if bad:
            stats["fp"] += 1
            if errors:
                print("FP", repr(neg), [neg[x.start : x.end] for x in bad])
    for kind in ("cued", "bare"):
        hit, total = stats[kind]
        print(f"recall {kind}: {hit / total:.3f} ({hit}/{total})")
    print(f"negative texts with a false PHONE: {stats['fp']}/{stats['neg']}")


if __name__ == "__main__":
    main()
