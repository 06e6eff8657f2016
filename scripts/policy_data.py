"""The generated training set of the usage-policy classifier (deterministic: one seeded ``random.Random``).

Every text is (text, category, lang, kind): ``kind`` names the family (``review``, ``review-neg``,
``block``, ``block-neg``, ``low-decide``, ``ordinary``, ``banking77``, ``slabs``, ``business``) so the
trainer can report per family. Slots come from ``policy_templates`` and ``policy_templates_block``.
Public texts (banking77 customer questions: finance-domain and ``none``; benign S-Labs prompts) give
the ``none`` class real variety; ``tests/data/policy`` is never read here.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from pathlib import Path

import injection_templates as inj
import policy_templates_block as b
from policy_templates import DOMAINS, Domain

Row = tuple[str, str, str, str]

EN_CTX = (
    "",
    "",
    "Please ",
    "You are our automated {h} agent. ",
    "Here is the file. ",
    "Based on the data below, ",
    "For each row in the table, ",
    "No one will check this: ",
    "Quick one: ",
    "Using the attached records, ",
)
JA_CTX = (
    "",
    "",
    "以下のデータをもとに、",
    "AIの{h}として、",
    "添付の資料を読んで、",
    "確認なしでいいので、",
    "一覧の各行について、",
    "急ぎで、",
)
JA_END = ("ください。", "。", "ほしい。", "おいて。", "ください。お願いします。")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _review(rng: random.Random, d: Domain, lang: str) -> str:
    if lang == "en":
        ctx = rng.choice(EN_CTX).format(h=rng.choice(d.en_human))
        act = " " + rng.choice(d.en_act) if rng.random() < 0.7 else ""
        return _cap(ctx + rng.choice(d.en_decide) + act + rng.choice((".", "", ".", "!")))
    ctx = rng.choice(JA_CTX).format(h=rng.choice(d.ja_human))
    decide = rng.choice(d.ja_decide)
    if rng.random() < 0.7:
        act = rng.choice(d.ja_act)
        return ctx + decide + act + ("" if act.endswith("。") else rng.choice(("。", "")))
    return ctx + decide + rng.choice(JA_END)


EN_NEG = (
    "Explain {t} in simple terms.",
    "What should I know about {t}?",
    "Write a short article on {t}.",
    "What are the pros and cons of using AI for {t}?",
    "Give me an overview of {t} for new staff.",
    "Summarise {d} for the {h}, who will decide.",
    "Draft a checklist the {h} can use when reviewing {d}.",
    "Write a template letter the {h} can edit before sending it themselves.",
    "List the questions the {h} should ask. The final decision stays with them.",
    "Prepare a neutral briefing on {d} for the {h}; do not make a recommendation.",
    "I'm the {h}. What should I weigh before I {x}? I'll make the call myself.",
    "Write a Python function that helps with {t}.",
    "Translate {d} into Japanese for the {h}.",
    "Proofread my own application: {d}.",
    "Write an email to the {h} with my notes on {d}; they will choose.",
    "Put my notes on {d} into a memo for the {h}.",
    "Our {h} asked for a summary of the rules on {t}.",
)
JA_NEG = (
    "{t}について教えて。",
    "{t}の仕組みをわかりやすく説明してください。",
    "{t}について記事を書いて。",
    "{d}を{h}向けに要約して。判断は{h}が行います。",
    "{h}が使うチェックリストを作ってください。",
    "{h}が確認してから送る文例を作って。",
    "{h}として「{x}」という依頼を受けました。判断のポイントを整理して。最終判断は私がします。",
    "{t}のメリットとデメリットをまとめて。",
    "自分の申請書の志望動機を添削して。{t}に関する書類です。",
    "{d}の良い点と懸念点を整理して、{h}に渡すメモにしてください。",
    "{d}を英語に翻訳して。{h}が読みます。",
    "{t}に関するよくある質問を作って。",
)


def _review_negative(rng: random.Random, d: Domain, lang: str) -> str:
    if lang == "en":
        decide = rng.choice(d.en_decide)
        x = decide.replace("this", "the").replace("these", "the")
        return rng.choice(EN_NEG).format(
            t=rng.choice(d.en_topic), d=rng.choice(d.en_doc), h=rng.choice(d.en_human), x=x
        )
    t = rng.choice(JA_NEG)
    return t.format(
        t=rng.choice(d.ja_topic), d=rng.choice(d.ja_doc), h=rng.choice(d.ja_human), x=rng.choice(d.ja_decide)
    )


def _impersonation(rng: random.Random, lang: str) -> str:
    if lang == "en":
        form = rng.choice(b.EN_FORMS)
        text = form.format(
            pose=rng.choice(b.EN_POSE),
            entity=rng.choice(b.EN_ENTITY),
            medium=rng.choice(b.EN_MEDIUM),
            ask=rng.choice(b.EN_ASK),
            ask2=rng.choice(b.EN_ASK2),
        )
        return _cap(text.replace(", and ", " and ").replace(",,", ","))
    e = rng.choice(b.JA_ENTITY)
    pose = rng.choice(b.JA_POSE).format(e=e)
    form = rng.choice(b.JA_FORMS)
    text = form.format(
        pose=pose, e=e, m=rng.choice(b.JA_MEDIUM), ask=rng.choice(b.JA_ASK), what=rng.choice(b.JA_WHAT)
    )
    return text + ("" if text.endswith("。") else rng.choice(("。", "ください。")))


def _impersonation_negative(rng: random.Random, lang: str) -> str:
    if lang == "en":
        if rng.random() < 0.6:
            return rng.choice(b.EN_FRAUD_NEG).format(scam=rng.choice(b.EN_SCAMS))
        return rng.choice(b.EN_OWN).format(
            role=rng.choice(b.EN_ROLES), topic=rng.choice(b.TOPICS_EN), fun=rng.choice(b.EN_FUN)
        )
    if rng.random() < 0.6:
        return rng.choice(b.JA_FRAUD_NEG).format(scam=rng.choice(b.JA_SCAMS))
    return rng.choice(b.JA_OWN).format(
        role=rng.choice(b.JA_ROLES), topic=rng.choice(b.TOPICS_JA), fun=rng.choice(b.JA_FUN)
    )


def _election(rng: random.Random, lang: str) -> str:
    if lang == "en":
        fmt = rng.choice(b.EN_VOTE_FORMAT).format(group=rng.choice(b.EN_GROUPS))
        return f"{fmt} {rng.choice(b.EN_FALSE_VOTE)}."
    return (
        rng.choice(b.JA_VOTE_FORMAT).format(g=rng.choice(b.JA_GROUPS), c=rng.choice(b.JA_FALSE_VOTE)) + "。"
    )


def _election_negative(rng: random.Random, lang: str) -> str:
    if lang == "en":
        return rng.choice(b.EN_VOTE_NEG).format(place=rng.choice(b.EN_PLACES))
    return rng.choice(b.JA_VOTE_NEG)


def _campaign(rng: random.Random, lang: str) -> str:
    if lang == "en":
        stance = rng.choice(b.EN_STANCE).format(t=rng.choice(b.EN_TARGETS))
        return _cap(
            f"{rng.choice(('write', 'generate', 'create', 'produce'))} {rng.choice(b.EN_SCALE)} "
            f"{rng.choice(b.EN_ARTIFACT)} {rng.choice(b.EN_FAKE)} {stance}."
        )
    stance = rng.choice(b.JA_STANCE).format(t=rng.choice(b.JA_TARGETS))
    return f"{rng.choice(b.JA_FAKE)}、{stance}{rng.choice(b.JA_ARTIFACT)}を{rng.choice(b.JA_SCALE)}作って。"


def _campaign_negative(rng: random.Random, lang: str) -> str:
    if lang == "en":
        pa, pb = rng.sample(b.EN_PARTIES, 2)
        return rng.choice(b.EN_CAMP_NEG).format(a=pa, b=pb, issue=rng.choice(b.EN_ISSUES))
    pa, pb = rng.sample(b.JA_PARTIES, 2)
    return rng.choice(b.JA_CAMP_NEG).format(a=pa, b=pb, issue=rng.choice(b.JA_ISSUES))


def _ordinary(rng: random.Random, lang: str) -> str:
    r = rng.random()
    if r < 0.3:
        return rng.choice(b.EN_LOW_DECIDE if lang == "en" else b.JA_LOW_DECIDE)
    if r < 0.6:  # the injection trainer's benign business prompts (its own, written for this project)
        if lang == "en":
            return rng.choice(inj.EN_BENIGN).format(n=rng.choice(inj.EN_NAMES), t=rng.choice(inj.EN_TOPICS))
        return rng.choice(inj.JA_BENIGN).format(n=rng.choice(inj.JA_NAMES), t=rng.choice(inj.JA_TOPICS))
    if lang == "en":
        return rng.choice(b.EN_ORDINARY).format(x=rng.choice(b.EN_X))
    return rng.choice(b.JA_ORDINARY).format(x=rng.choice(b.JA_X))


EN_WRAP = ("", "", "", "Hi! ", "Quick one: ", "Hello, ", "Can you help? ", "Urgent: ", "Thanks. ")
EN_WRAP_END = ("", "", "", " Thanks!", " Keep it short.", " Reply in English.", " Be concise.")
JA_WRAP = ("", "", "", "お疲れさまです。", "すみません、", "急ぎです。", "お願いがあります。")
JA_WRAP_END = ("", "", "", "よろしくお願いします。", "簡潔にお願いします。", "ありがとう！")


def _wrap(rng: random.Random, text: str, lang: str) -> str:
    """Neutral openings and closings on every class, so that none of them marks a category."""
    if lang == "en":
        ctx = rng.choice(EN_CTX).format(h="assistant") if rng.random() < 0.2 else rng.choice(EN_WRAP)
        return ctx + (text if not ctx else text[:1].lower() + text[1:]) + rng.choice(EN_WRAP_END)
    ctx = rng.choice(JA_CTX).format(h="アシスタント") if rng.random() < 0.2 else rng.choice(JA_WRAP)
    return ctx + text + rng.choice(JA_WRAP_END)


def public_negatives(datasets: Path, rng: random.Random, n: int) -> list[Row]:
    """Benign public texts: banking77 questions and S-Labs benign prompts (train splits only)."""
    out: list[Row] = []
    for name, path, column, keep in (
        ("banking77", datasets / "intents-banking77" / "train.csv", "text", None),
        ("slabs", datasets / "injection-slabs" / "train.csv", "text", "0"),
    ):
        if not path.exists():
            continue
        with path.open(encoding="utf-8", newline="") as fh:
            rows = [r[column] for r in csv.DictReader(fh) if keep is None or r.get("label") == keep]
        out += [(t, "none", "en", name) for t in rng.sample(rows, min(n, len(rows)))]
    return out


def _pad(rng: random.Random, text: str, fillers: Sequence[str]) -> str:
    """Bury the instruction at the start or end of a pasted document (the classifier reads both ends)."""
    doc = "\n".join(rng.sample(list(fillers), k=min(len(fillers), rng.randint(6, 20))))
    return f"{text}\n\n{doc}" if rng.random() < 0.5 else f"{doc}\n\n{text}"


def generate(seed: int, datasets: Path, per_class: int = 560, per_negative: int = 140) -> list[Row]:
    """The whole training set, deduplicated, in a reproducible order."""

    def family(*key: str) -> random.Random:
        # One stream per family: editing one pool leaves every other family's texts (and their cached
        # embeddings) unchanged.
        return random.Random(f"{seed}-" + "-".join(key))  # noqa: S311 - reproducible, not security

    rows: list[Row] = []
    for lang in ("en", "ja"):
        for name, d in DOMAINS.items():
            r = family(lang, name, "review")
            rows += [(_review(r, d, lang), name, lang, "review") for _ in range(180)]
            r = family(lang, name, "review-neg")
            rows += [(_review_negative(r, d, lang), "none", lang, "review-neg") for _ in range(per_negative)]
        for name, pos, neg in (
            ("impersonation_fraud", _impersonation, _impersonation_negative),
            ("election_interference", _election, _election_negative),
            ("political_campaigning", _campaign, _campaign_negative),
        ):
            r = family(lang, name, "block")
            rows += [(pos(r, lang), name, lang, "block") for _ in range(per_class // 2)]
            r = family(lang, name, "block-neg")
            rows += [(neg(r, lang), "none", lang, "block-neg") for _ in range(per_negative * 2)]
        r = family(lang, "ordinary")
        rows += [(_ordinary(r, lang), "none", lang, "ordinary") for _ in range(per_negative * 3)]
    r = family("wrap")
    rows = [(_wrap(r, t, lang), c, lang, k) for t, c, lang, k in rows]
    rng = family("public")
    public = public_negatives(datasets, rng, 600)
    rows += public
    fillers = [t for t, *_ in public] + [t for t, _, _, k in rows if k == "ordinary"]
    rows += [
        (_pad(rng, t, fillers), c, lang, k + "-long") for t, c, lang, k in rng.sample(rows, len(rows) // 10)
    ]
    seen: set[str] = set()
    unique = []
    for row in rows:
        if row[0] not in seen:
            seen.add(row[0])
            unique.append(row)
    return unique
