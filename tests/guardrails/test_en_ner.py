"""The English PERSON/ADDRESS tagger: its artifact, its feature rules and its output through the detectors."""

from __future__ import annotations

import numpy as np
import pytest

from sekisho.guardrails.detectors import en_ner
from sekisho.guardrails.detectors.en_address import EnglishAddressDetector
from sekisho.guardrails.detectors.en_person import EnglishPersonDetector
from sekisho.guardrails.text import Text

PERSON = EnglishPersonDetector()
ADDRESS = EnglishAddressDetector()


def persons(text: str) -> list[str]:
    return [text[f.start : f.end] for f in PERSON.detect(Text(text))]


def addresses(text: str) -> list[str]:
    return [text[f.start : f.end] for f in ADDRESS.detect(Text(text))]


def test_the_tagged_token_is_never_its_own_feature() -> None:
    # Context identities ("w=...") carry no weight at offset 0, and affixes none at the other offsets.
    model = en_ner.model()
    own = en_ner.OFFSETS.index(0)
    context = [i for name, i in model.index.items() if name.startswith(en_ner.CONTEXT_ONLY)]
    own_only = [i for name, i in model.index.items() if name.startswith(en_ner.OWN_ONLY)]
    assert context and own_only
    assert not np.any(model.weights[context, own])
    others = [k for k in range(len(en_ner.OFFSETS)) if k != own]
    assert not np.any(model.weights[np.ix_(own_only, others)])


def test_features_do_not_name_the_token() -> None:
    for token in ("Nielsen", "Dzhambek", "nielsen", "NIELSEN"):
        feats = en_ner.token_features(token, "m")
        own = [f for f in feats if not f.startswith(en_ner.CONTEXT_ONLY)]
        assert all(token.lower() not in f.split("=", 1)[-1] for f in own if not f.startswith(("p", "s")))


@pytest.mark.parametrize(
    ("text", "mode"),
    [("Hello John, how are you?", "m"), ("hello john how are you", "l"), ("HELLO JOHN, HOW ARE YOU?", "u")],
)
def test_doc_mode(text: str, mode: str) -> None:
    assert en_ner.doc_mode(text) == mode


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Names the census lists do not have, answers to questions, casing the rules could not read.
        ("Can you tell me your last name? Nielsen", ["Nielsen"]),
        ("Hi Dzhambek, thanks for your message.", ["Dzhambek"]),
        ("my name is asya petrova and i need help", ["asya petrova"]),
        ("DEAR JOHN SMITH, THANK YOU FOR YOUR ORDER.", ["JOHN SMITH"]),
        ("Regards,\nKatarzyna W Nowak", ["Katarzyna W Nowak"]),
        ("Emily Clarke will join the call at 3pm.", ["Emily Clarke"]),
        ("> On Monday, Pieter van der Berg wrote:", ["Pieter van der Berg"]),
    ],
)
def test_tagger_finds_person(text: str, expected: list[str]) -> None:
    assert persons(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The Johnson LLC office is closed on Friday.",
        "We are flying to Argentina on 12/05/2024.",
        "Project Phoenix Kickoff",
        "Please restart the ThinkPad T14 and try again.",
        "日本語のテキストです。山田太郎さん",
        "def main(): return 0",
    ],
)
def test_tagger_negative_person(text: str) -> None:
    assert persons(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "i live at 742 evergreen terrace, springfield, il 62704",
            "742 evergreen terrace, springfield, il 62704",
        ),
        ("Address: 3378 217 Lovers Lane\nDallas, TX 75201", "3378 217 Lovers Lane\nDallas, TX 75201"),
        ("> Ship to:\n> 12 Elm Road\n> Oxford OX1 2JD", "12 Elm Road\n> Oxford OX1 2JD"),
        ("MY ADDRESS IS 221B BAKER STREET, LONDON NW1 6XE.", "221B BAKER STREET, LONDON NW1 6XE"),
    ],
)
def test_tagger_finds_address(text: str, expected: str) -> None:
    assert addresses(text) == [expected]


def test_no_latin_letters_costs_nothing() -> None:
    assert en_ner.tag(Text("山田太郎 〒100-0001 東京都千代田区1-2-3")) == en_ner.Tagged([], [])


def test_offsets_point_into_the_original_after_full_width_text() -> None:
    text = "（担当：）" + "Dear Ｅｍｉｌｙ Clarke, hello"
    found = PERSON.detect(Text(text))
    assert [text[f.start : f.end] for f in found] == ["Ｅｍｉｌｙ Clarke"]
    assert all(0.5 <= f.score <= 0.95 for f in found)


def test_rules_remain_available_without_the_model() -> None:
    assert EnglishPersonDetector(model=False).detect(Text("Dear John Smith,"))
    assert EnglishAddressDetector(model=False).detect(Text("Ship to 742 Evergreen Terrace, Springfield"))


def test_the_token_table_restarts_when_full() -> None:
    table = en_ner._Table(en_ner.model(), limit=50)
    first = table.rows_for([f"word{i}" for i in range(40)], "m")
    again = table.rows_for([f"other{i}" for i in range(40)], "m")
    assert len(first) == len(again) == 40 and len(table.rows) <= 50


def test_long_input_is_linear() -> None:
    text = "Dear John Smith, please ship to 742 Evergreen Terrace, Springfield, IL 62704. " * 5_000
    tagged = en_ner.tag(Text(text))
    assert len(tagged.person) == 5_000 and len(tagged.address) == 5_000


def test_in_japanese_text_spans_never_cross_japanese_words() -> None:
    text = "山田太郎様のマイナンバーは1234 5678 9018、メールはyamada@example.co.jpです。"
    mixed = "担当のJohn Smithさんは 221B Baker Street, London NW1 6XE に住んでいます。"
    for detector in (EnglishAddressDetector(), EnglishPersonDetector()):
        assert [f for f in detector.detect(Text(text)) if f.score >= 0.5] == []
    found = {
        (f.type, mixed[f.start : f.end])
        for d in (EnglishAddressDetector(), EnglishPersonDetector())
        for f in d.detect(Text(mixed))
        if f.score >= 0.5
    }
    assert found == {("ADDRESS", "221B Baker Street, London NW1 6XE"), ("PERSON", "John Smith")}
