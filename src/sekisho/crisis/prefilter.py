"""The gate in front of the crisis model: does this text come near the topic at all?

The model costs an embedding (~20 ms) and ``assess`` runs on every chat message, so the embedding runs
only when this broad pattern matches. It is tuned for recall, not precision: death, pain and
exhaustion, self-harm, methods and means (pills, rope, heights, bridges, trains, charcoal, weapons),
goodbyes and endings, net slang (タヒ, 氏ね, 4ぬ, kms, unalive, sewerslide). Ordinary business prompts
(a card payment, a refund, a meeting) rarely contain any of it; a prompt about a dying process does,
and the model then says no. Matched on ``Text.kana`` (NFKC, lower case, katakana folded to hiragana).
"""

from __future__ import annotations

import re

_EN = (
    r"\b(?:di(?:e|es|ed|ing)|dead|death|deadly|kill\w*|k\*ll|kms|kys|suicid\w*|su[1i!]c[1i!]de|s\*icide"
    r"|sewerslide"
    r"|unaliv\w*|self[- ]?(?:harm|delete)|sh'?d|end(?:ing)? (?:it|things|my|me)|off myself|lethal|fatal"
    r"|overdos\w*"
    r"|od|ods|od'd|pills?|tablets?|meds|dose|sleeping|tylenol|paracetamol|ibuprofen|insulin|xanax|oxy\w*"
    r"|rope|noose|hang\w*|knot|beam|bridge|roof\w*|ledge|cliff|jump\w*|fall|tallest|highest|floor|tracks?"
    r"|train|overpass|highway|garage|exhaust|charcoal|helium|poison\w*|gun|rifle|knife|knives|shoot|stab\w*"
    r"|hammer|gasoline|burn\w*|cut\w*|razor|blade|bleed\w*|blood|scars?|wrists?|hurt\w*|pain\w*"
    r"|goodbye|bye|farewell|last message|my last|letters?|note|(?:my|a|the) will|give away|gave away"
    r"|giving away|won'?t (?:be|need)"
    r"|gone|disappear\w*|vanish|not (?:wake|be here|exist)|wake up|alive|exist\w*|live|living|life|breath\w*"
    r"|over|done|enough|tired|exhausted|worthless|burden|pointless|hopeless|empty|nobody|anymore|forever"
    r"|permanent\w*|for good|peace|pay for|revenge|accident|taste|mur(?:der|dered)|hit me|take me"
    r"|cant go on|can'?t (?:do this|take|go on)|give up|giving up|escape|sleep\w*|asleep|wake\w*|better off"
    r"|here (?:much )?(?:longer|anymore)|wasn'?t (?:here|in it|around)|without me|just go|myself|bruis\w*"
    r"|punish\w*|swallow\w*|antidepressants?|medicine|cabinet|bottle|stockpil\w*|hoard\w*|saved up|took \d+"
    r"|take (?:all|them|\d+)|in order|affairs|socials|debts|funeral|join (?:her|him|them)|set a date"
    r"|a date|bat"
    r"|crash\w*|hit by|truck|car|bus|plane|drown\w*|river|lake|ocean|sea|building|window|balcony|railing|edge"
    r"|platform|world|d[1!]e|s\W?u\W?i\W?c\W?i\W?d\W?e)\b"
)
_JA = (
    r"(?<![a-z])od(?![a-z])|死|亡|殺|ころ[しすさせ]|しに|しぬ|しね|しの|たひ|氏[にぬね]|4[にぬね]|市にたい|消え|きえ|いなくな|いない方"
    r"|生き|いき|生まれ|命|寿命|終わ|おわ|おしまい|楽に|眠|起き|目を覚|自殺|じさつ|自死|自傷|りすか|あむか|切|傷|血"
    r"|薬|錠|剤|飲|おーばーどーず|ろーぷ|紐|首|吊|練炭|七輪|飛|落ち|落下|高い|屋上|階|橋|線路|電車|崖|樹海|柵"
    r"|遺書|遺言|手紙|最後|最期|お別れ|さようなら|さよなら|ありがとう|身辺|整理|あげ|包丁|ないふ|刺|毒|火|復讐"
    r"|思い知|待ち伏|決行|決め|準備|無理|疲れ|つら|辛|しんど|意味|価値|迷惑|限界|消し|永遠|痛|苦し|助から|致死"
    r"|もう嫌|逃げ|ばっと|金槌|灯油|車|はね|来なけ|来なきゃ|覚め|目が|手すり|べらんだ|打ち付|罰|突っ込|根性焼"
    r"|かったー|結び|体重|もういない|預け|すたんがん|待ち|びる|溺|沈|海|川|ほーむ|とらっく|電車|事故|貯め|集め"
)
GATE = re.compile(f"{_EN}|{_JA}")


def gate(folded: str) -> list[tuple[int, int]]:
    """Spans (in ``folded``) of the words that open the gate; empty: the model need not run."""
    return [(m.start(), m.end()) for m in GATE.finditer(folded)]
