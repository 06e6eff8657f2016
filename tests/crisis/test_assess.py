"""``assess``: levels, signals and spans on hand-written cases; idioms, frames, negation, evasions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sekisho.crisis import LEVELS, CrisisAssessment, assess

DEV = Path(__file__).resolve().parents[1] / "data" / "crisis" / "dev.jsonl"


def level(text: str) -> str:
    return assess(text).level


@pytest.mark.parametrize(
    "text",
    [
        "もう死にたい",
        "しにたい",  # hiragana
        "氏にたい",  # homophone evasion
        "ｼﾆﾀｲ",  # half-width katakana
        "ﾀﾋにたい",  # タヒ looks like 死
        "死にたくなってきた",
        "消えてしまいたい",
        "生きていたくない",
        "I want to die.",
        "i wanna kms",
        "I've been thinking about killing myself.",
        "I wish I could sleep and never wake up.",
        "I cut myself again.",
        "またリスカしちゃった",
    ],
)
def test_intent_and_self_harm_are_crisis_or_worse(text: str) -> None:
    assert LEVELS.index(level(text)) >= LEVELS.index("crisis"), text


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("今夜、死のうと思う", "timeframe"),
        ("薬を全部飲んで死ぬつもり", "plan"),
        ("楽に死ねる方法を教えて", "means"),
        ("I'm going to kill myself tonight.", "timeframe"),
        ("What's the most painless way to kill myself?", "means"),
        ("I just took a whole bottle of pills.", "in_progress"),
        ("I'm going to shoot my coworker tomorrow.", "harm_to_others"),
        ("明日、包丁で上司を刺す", "harm_to_others"),
    ],
)
def test_plans_means_and_threats_are_imminent(text: str, signal: str) -> None:
    result = assess(text)
    assert result.level == "imminent", text
    assert signal in result.signals


@pytest.mark.parametrize(
    "text",
    [
        # Declarations: a decision stated is a plan, with or without a date.
        "今夜、自殺します",
        "今夜、飛び降りるつもりです",
        "I have the pills here and I'm going to take them all tonight.",
        "I'm going to kill myself.",
        "今週中に消えます",  # a bare 「消えます」 next to a time
        "明日死にます",
        "死のうって決めた",
        "屋上に行って飛び降りる",
        "自分で命を絶とうと思う",
        # Means, notes and goodbyes.
        "死ぬための薬ってどこで買える？",
        "ODするための薬を集めてる",
        "風邪薬を60錠飲んでしまった",
        "今夜で終わりにする。遺書も書いた",
        "遺書は机の上。さようなら",  # two goodbyes
        "I gave away my cat and wrote goodbye letters to my friends.",
        "I'm standing on the ledge of the parking structure.",
        "Swallowed a bottle of Tylenol, feeling sick.",
        "I'm going to do it tonight. The rope is in the garage.",  # a bare "do it" next to a method
        "首吊りって苦しい？今日やるつもり",
    ],
)
def test_declarations_means_and_goodbyes_are_imminent(text: str) -> None:
    assert level(text) == "imminent", text


@pytest.mark.parametrize(
    "text",
    [
        "疲れた。終わりにしたい",  # no object: one's life
        "what would happen if I killed myself",
        "I hope I get hit by a car tomorrow.",
        "the world would be better if i wasn't in it",
        "thinking bout su1cide constantly",
        "誰か私のことを殺してほしい",
        "手首をカミソリで切った",
    ],
)
def test_new_phrasings_of_a_wish_are_at_least_crisis(text: str) -> None:
    assert LEVELS.index(level(text)) >= LEVELS.index("crisis"), text


@pytest.mark.parametrize(
    "text",
    [
        "この関係はもう終わりにしたい。別れ話の切り出し方を教えて",  # 終わりにしたい with its own object
        "今週中に終わらせたい仕事がある",
        "明日のプレゼンで死ぬ",  # 「で死ぬ」: an idiom
        "再起動すれば今日中に消えます",
        "明日で辞めます。今までありがとうございました",  # one goodbye, at work
        "明日でこの部署ともお別れです。送別会の挨拶文を考えて",
        "キャンプで七輪と練炭を使うつもり。火のつけ方を教えて",
        "終活で遺書を書いておきたい。テンプレートは？",
        "課題が多すぎて消えたい笑",
        "精神保健福祉士の国家試験で出る自殺対策の問題を解説して",
        "公認心理師として、希死念慮を訴えるクライアントへの対応をまとめたい",
        "後輩から「もう死にたい」ってメッセージが来た。どう返せばいい？",
        "ゲームのラスボスを今夜こそ倒す。殺すための装備を教えて",
        "If I have to redo this deck one more time I'm going to die lol",
        "I'm going to die of boredom in this meeting",
        "I gave my notice to HR and said goodbye to the team.",
        "Do I need to take them all at once, or spread the pills over the day?",
        "In Minecraft, how high can you jump off without dying?",
        "I'm going to shoot my friend's engagement photos tomorrow, what lens?",
        'My roommate told me "I want to die" last night and laughed. Should I check on her?',
        "I'm a psychiatric social worker; how do I document suicidal ideation in notes?",
        "I used to cut, but I've been clean for three years and doing well.",
    ],
)
def test_new_negatives_stay_below_crisis(text: str) -> None:
    assert LEVELS.index(level(text)) < LEVELS.index("crisis"), text


@pytest.mark.parametrize(
    "text",
    [
        "生きる意味がわからない",
        "あなたしか頼れる人がいない",
        "Everything feels pointless.",
        "You're the only one who understands me.",
    ],
)
def test_hopelessness_and_reliance_are_concern(text: str) -> None:
    assert level(text) == "concern", text


@pytest.mark.parametrize(
    "text",
    [
        "死ぬほど忙しい",
        "死ぬかと思った",
        "腹が死ぬほど減った",
        "恥ずかしくて消えたい",
        "推しが尊すぎて死ぬ",
        "this bug is killing me",
        "I'd kill for a coffee",
        "I'm dying to see it",
        "kill -9 the process",
        "My mom is going to kill me lol",
    ],
)
def test_idioms_are_not_flagged(text: str) -> None:
    assert level(text) == "none", text


@pytest.mark.parametrize(
    "text",
    [
        "ゲートキーパー研修の資料で、希死念慮のある人への声かけ例を作りたい",
        "『人間失格』で主人公が「死にたい」と言う場面の意味を考察して",
        "小説の主人公が「消えたい」と呟くシーンを書きたい",
        "As a nurse, what is the toxic dose of paracetamol in our overdose protocol?",
        "Summarise research on self-harm among university students.",
        "友達が「死にたい」と言っていて心配です",
        "My sister told me she wants to kill herself. What should I do?",
    ],
)
def test_professional_fictional_and_third_person_are_not_flagged(text: str) -> None:
    assert LEVELS.index(level(text)) < LEVELS.index("crisis"), text


def test_negation_lowers_and_double_negation_does_not() -> None:
    assert level("死にたいとは思わない") == "none"
    assert level("I'm not suicidal.") == "none"
    assert level("死にたいと思わない日はない") == "crisis"
    # A denied wish next to a softer one is distress, not intent.
    assert level("I'm not suicidal, I just want to disappear forever.") == "concern"


def test_past_crisis_told_as_past_is_not_flagged() -> None:
    assert level("前は死にたいと思っていたけど、今は元気です") == "none"
    assert level("Years ago I wanted to die, but now I'm doing great.") == "none"


def test_first_person_statement_survives_a_professional_frame() -> None:
    assert level("I'm a nurse and honestly I want to kill myself.") == "crisis"
    assert level("看護師ですが、正直、私も死にたい") == "crisis"


def test_spans_point_into_the_original_text() -> None:
    text = "ＡＢＣ　ｼﾆﾀｲ。今夜ﾔﾙ"  # full-width and half-width: NFKC changes offsets
    result = assess(text)
    assert result.spans
    pieces = [text[a:b] for a, b in result.spans]
    assert "ｼﾆﾀｲ" in pieces
    assert all(0 <= a < b <= len(text) for a, b in result.spans)


def test_result_shape_and_no_user_text_in_signals() -> None:
    text = "I want to die tonight"
    result = assess(text)
    assert isinstance(result, CrisisAssessment)
    assert 0.0 <= result.score <= 1.0
    known = {"intent", "plan", "means", "self_harm", "hopelessness", "reliance_on_ai", "harm_to_others"}
    assert set(result.signals) <= known | {"timeframe", "in_progress"}
    with pytest.raises(AttributeError):
        result.level = "none"  # type: ignore[misc]
    assert assess("").level == "none"


def test_scores_rise_with_level() -> None:
    scores = [assess(t).score for t in ("hello", "生きる意味がない", "死にたい", "今夜死ぬつもり")]
    assert scores == sorted(scores) and len(set(scores)) == 4


def test_language_is_detected_for_the_reply() -> None:
    assert assess("死にたい").language == "ja"
    assert assess("I want to die").language == "en"


def test_long_text_with_a_buried_disclosure() -> None:
    filler = "今週は死ぬほど忙しいけど、プロジェクトは順調です。" * 2000
    text = filler + "本当はもう死にたい。" + filler
    result = assess(text)
    assert result.level == "crisis"
    assert [text[a:b] for a, b in result.spans] == ["死にたい"]


def test_a_text_dense_with_cues_is_judged_whole() -> None:
    """Thousands of goodbyes and times: every hit is compared only with hits near it (bounded windows)."""
    assert level("さようなら。" * 3000) == "imminent"  # two goodbyes next to each other
    assert level("今日は会議。" * 3000) == "none"
    text = "明日の会議の資料。" * 2000 + "もう死にたい。" + "明日の会議の資料。" * 2000
    assert level(text) == "imminent"  # a wish next to 「明日」


def test_dev_split_meets_the_targets() -> None:
    """Regression guard on the tuning split, for the rules alone (``model=False``): the v4 model was
    trained on dev, so a cascade figure here would say nothing (benchmarks/policy/crisis.py reports)."""
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    positives = [r for r in rows if r["label"] == "crisis"]
    negatives = [r for r in rows if r["label"] == "none"]
    found = sum(assess(r["text"], model=False).at_least_crisis for r in positives)
    false = sum(assess(r["text"], model=False).at_least_crisis for r in negatives)
    assert found / len(positives) >= 0.95
    assert false / len(negatives) <= 0.05
