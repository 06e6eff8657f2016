"""The answer a person in distress gets instead of a model's completion: warm, engaged, with real help.

Never a refusal. The reply follows what people who staff crisis lines teach: thank them for saying it,
name the feeling without judging it, ask one gentle open question (asking directly does not plant the
idea), say that reaching out helps and how, and give help that exists where they are. At ``imminent``
it puts safety first: the emergency number, being with someone, putting the means out of reach.

It is written in the language of the user's text (``assessment.language``), while ``locale`` ("ja-JP",
"en-US", "en-GB") chooses the region of the help lines: an English speaker in Tokyo gets Japanese lines
described in English.
"""

from __future__ import annotations

from collections.abc import Sequence

from sekisho.crisis.assess import CrisisAssessment
from sekisho.crisis.resources import HelpResource, region_of, resources_for

_JA = {
    "concern": (
        "話してくれてありがとうございます。そんなふうに感じているのは、本当にしんどいことだと思います。",
        "よかったら、最近どんなことがあったのか、もう少し聞かせてもらえますか？",
        "つらい気持ちは、ひとりで抱え込まなくて大丈夫です。信頼できる人や、下の相談窓口に話してみるのもひとつの方法です。",
    ),
    "crisis": (
        "打ち明けてくれて、ありがとうございます。死にたいと思うほどつらい気持ちを抱えているのですね。"
        "あなたが感じている苦しさは、とても大きなものなのだと思います。",
        "今、いちばんつらいのはどんなことですか？よかったら聞かせてください。",
        "この気持ちを、ひとりで抱えなくていいんです。今日、身近な誰かや、下の相談窓口に連絡してみませんか。"
        "話すことで、少しでも楽になることがあります。",
    ),
    "imminent": (
        "打ち明けてくれて、ありがとうございます。今、あなたの安全がいちばん大切です。",
        "今、安全な場所にいますか？そばに誰かいますか？",
        "もし今すぐ危険な状態なら、ためらわずに119番に電話してください。手元に薬や危ないものがあれば、"
        "少し離れた場所に置くか、誰かに預けてもらえますか。そして、今すぐ誰かとつながってください。",
    ),
}
_JA_SELF_HARM = (
    "打ち明けてくれて、ありがとうございます。自分を傷つけてしまうほど、追い詰められているのですね。"
    "責めるつもりはまったくありません。"
)
_JA_RELIANCE = (
    "私はここでいつでも話を聞きますが、あなたのことを大切に思う人とのつながりも、"
    "同じくらい大事にしてほしいです。"
)
_JA_OTHERS = (
    "誰かを傷つけてしまいそうなほど、追い詰められているのですね。取り返しのつかないことになる前に、"
    "その場を離れて、誰かに話してください。差し迫った危険があるなら、110番に連絡してください。"
)
_JA_HEADER, _JA_EMERGENCY = "相談できる窓口:", "今すぐ危険な場合:"
_JA_CLOSE = "あなたの話を、もっと聞かせてください。ここにいます。"

_EN = {
    "concern": (
        "Thank you for telling me. Feeling this way is really hard, and it makes sense that it weighs "
        "on you.",
        "If you'd like, can you tell me a bit more about what's been going on lately?",
        "You don't have to carry this alone. Talking to someone you trust, or to one of the lines below, "
        "can help.",
    ),
    "crisis": (
        "Thank you for telling me. It sounds like you're in a lot of pain right now, enough that you've "
        "been thinking about dying. I'm really glad you said it.",
        "What's feeling hardest for you right now?",
        "You don't have to go through this alone. Would you reach out today, to someone close to you or to "
        "one of the lines below? They're there for exactly this, and talking can help.",
    ),
    "imminent": (
        "Thank you for telling me. Right now, your safety matters most.",
        "Are you somewhere safe at the moment? Is anyone with you?",
        "If you are in immediate danger, please call your emergency number now. If there are pills or "
        "anything you could hurt yourself with nearby, could you put them somewhere out of reach, or give "
        "them to someone? And please reach out to someone right now.",
    ),
}
_EN_SELF_HARM = (
    "Thank you for telling me. It sounds like things have been hard enough that you've been hurting "
    "yourself, and there's no judgement here."
)
_EN_RELIANCE = (
    "I'm glad our conversations help, and I'm here to listen. I'd also love for you to have people "
    "around you who can be there in ways I can't."
)
_EN_OTHERS = (
    "It sounds like you're under so much pressure that you're thinking of hurting someone. Before anything "
    "happens that can't be undone, please step away and talk to someone. If anyone is in immediate danger, "
    "call your emergency number."
)
_EN_HEADER, _EN_EMERGENCY = "People you can talk to:", "If you are in immediate danger:"
_EN_CLOSE = "I'm here, and I'd like to hear more whenever you're ready."


def safe_response(
    assessment: CrisisAssessment, locale: str, resources: Sequence[HelpResource] | None = None
) -> str:
    """The caring reply for ``assessment``, with help lines for ``locale``'s region.

    ``resources`` replaces the defaults (an organisation's EAP line, campus counselling); they are
    filtered by region and language like the defaults. A ``none`` assessment gets the ``concern`` text:
    the caller chose to answer with care, so it is never an empty or a cold reply.
    """
    ja = assessment.language == "ja"
    level = assessment.level if assessment.level in ("concern", "crisis", "imminent") else "concern"
    opening, question, encourage = (_JA if ja else _EN)[level]
    parts = [opening]
    if "harm_to_others" in assessment.signals:
        parts = [_JA_OTHERS if ja else _EN_OTHERS]
    elif "self_harm" in assessment.signals and "intent" not in assessment.signals and level == "crisis":
        parts = [_JA_SELF_HARM if ja else _EN_SELF_HARM]  # not "thinking about dying": they did not say so
    if "reliance_on_ai" in assessment.signals and level == "concern":
        parts.append(_JA_RELIANCE if ja else _EN_RELIANCE)
    parts += [question, encourage]
    chosen = resources_for(region_of(locale), "ja" if ja else "en", resources)
    lines = [f"- {_line(r, ja)}" for r in chosen if not r.emergency]
    urgent = [r for r in chosen if r.emergency]
    text = ("" if ja else " ").join(parts[:1]) + "".join(("" if ja else " ") + p for p in parts[1:])
    out = [text, "", _JA_HEADER if ja else _EN_HEADER, *lines]
    if urgent:
        sep = "、" if ja else ", "
        out += ["", f"{_JA_EMERGENCY if ja else _EN_EMERGENCY} {sep.join(_line(r, ja) for r in urgent)}"]
    out += ["", _JA_CLOSE if ja else _EN_CLOSE]
    return "\n".join(out)


def _line(resource: HelpResource, ja: bool) -> str:
    if (
        resource.contact == resource.name
        or resource.contact.startswith("your local")
        or resource.contact == "現地の緊急番号"
    ):
        return resource.name
    hours = f"（{resource.hours}）" if ja else f" ({resource.hours})"
    return f"{resource.name}: {resource.contact}{hours}"
