"""What changes the meaning of a cue: idioms, negation, a third person, a professional or fictional frame.

Each check looks only at a bounded window around the cue (the clause before it, a few characters after
it, ``FRAME_WINDOW`` characters for a frame), so a long document costs time linear in its length, and a
disclosure buried in a long text is not silenced by a word three pages away.

Where the line is drawn (documented in ``tests/data/crisis/README.md`` too):
- An idiom of degree or exaggeration (「死ぬほど」, 「死ぬかと思った」, 「恥ずかしくて消えたい」) is not
  a cue.
- A cue inside a professional, academic, news or fictional frame (「研修」, "nurse", "novel", "statistics")
  is silenced when it is *about* the subject: a topic word, a quotation, a third person. A first-person
  statement still counts in English ("I'm a nurse and I want to die"); in Japanese, which drops subjects,
  it counts inside a frame only with an explicit 「私」「僕」「俺」「自分」 before it.
- Someone else's words or acts (「友人が『死にたい』と言っていて」, 「息子がリストカットしているみたい」) are
  not the writer's crisis: the detector scores the writer. (A gateway may still answer with resources.)
- A negated wish (「死にたいとは思わない」, "I'm not suicidal") is not a cue, but a double negation
  (「死にたいと思わない日はない」) is, and an explicit "not suicidal" caps softer wishes at ``concern``.
- A past crisis told as past (「前は死にたいと思っていたけど、今は元気」) is not a present one.
"""

from __future__ import annotations

import re
from bisect import bisect_right

FRAME_WINDOW = 160  # characters either side of a cue in which a frame word silences topic cues
CLAUSE = re.compile(r"[。．.!?！？\n]")

# Idioms: a cue overlapping one of these spans is dropped. (Matched on Text.kana: katakana as hiragana.)
IDIOMS = re.compile(
    r"(?:死|し)ぬほど|死ぬかと|死ぬ気で|死にそう|死にかけ|笑い死|萌え死|もえ死|尊(?:い|すぎ|過ぎ|くて)[^。]{0,3}死"
    r"|死ぬ[〜~ー]|(?:くて|すぎて|過ぎて)(?:もう)?死ぬ|必死|死活|殺意が湧|殺したい(?:ほど|くらい|ぐらい)"
    r"|死ぬまでに|消えたい(?:くらい|ぐらい|ほど)恥ずかし|恥ずかし(?:くて|すぎて|過ぎて|さで)消えたい"
    r"|\b(?:killing me|kill for|dying (?:to|of|for)|to die for|died laughing|killed it|bored to death"
    r"|death of me|die of embarrassment|killed myself laughing"
    r"|(?:die|dying|died) of (?:boredom|laughter|shame|cringe|thirst|hunger|heat|cold|old age))\b"
    # sports and leisure: jumping off a bridge on a bungee cord is not a method
    r"|ばんじー|すかいだいびんぐ|飛び込み競技|ぷーるに飛び込"
)

_FRAME_JA = (
    r"研修|統計|推移|自殺者数|自殺率|論文|研究|看護師|医師|薬剤師|研修医|産業医|養護教諭|教員|カウンセラー|かうんせらー"
    r"|かうんせりんぐ|げーときーぱー|予防|対策|がいどらいん|報道|にゅーす|歌詞|分析|解説|考察|背景|尺度|評価|小説"
    r"|脚本|漫画|まんが|物語|ふぃくしょん|架空|登場人物|主人公|ひろいん|きゃら|らいとのべる|どらま|映画|文学|作品"
    r"|台詞|せりふ|場面|しーん|患者|生徒|ぼらんてぃあ|授業|語源|歴史|法の概要|基本法"
    # roles and settings of people who talk about suicide for a living
    r"|精神保健福祉士|社会福祉士|保健師|臨床心理士|公認心理師|心理士|心理職|相談員|支援員|精神科|救急隊|相談者|くらいあんと"
    r"|勉強会|講座|ちぇっくりすと|あせすめんと|まにゅある|国家試験|卒論|修論|先行研究|実習|ぼかろ"
)
_FRAME_EN = (
    r"training|prevention|rates?|statistics?|research|stud(?:y|ies)|literature|analy[sz]e|analysis|discuss|theme"
    r"|poem|poetry|novel|story|screenplay|script|character|protagonist|villain|fiction(?:al)?"
    r"|creative writing"
    r"|nurse|pharmacist|doctor|physician|clinician|clinical|counsel+or|volunteer|protocol|journalists?|news"
    r"|lesson|risk factors|scale|essay|thesis|lyrics|song|movie|film|book|campaign|role-?play"
    r"|social workers?|therapists?|psycholog\w*|psychiatr\w*|paramedics?|emts?|crisis line|hotline|phd"
    r"|dissertation"
    r"|studying|ideation|clients?|patients?|worksheet|safety plan|chemistry|class|course"
)
# Games: a boss killed, a character who jumps. Only threats and methods are silenced by it, never a wish
# ("even gaming doesn't help, I want to die" is still a wish).
GAME = re.compile(
    r"げーむ|らすぼす|ぼす戦|まいくら|すまぶら|人狼|えるでん|ふぉーとないと|あもんぐ"
    r"|\b(?:game|gaming|final boss|boss (?:fight|battle)|minecraft|fortnite|among us|impostor|gta|elden ring"
    r"|npc|quest|raid|level \d+"
    r"|my character|speedrun|respawn)\b"
)
FRAME = re.compile(rf"{_FRAME_JA}|\b(?:{_FRAME_EN})\b")

# Someone else as the subject of the clause (Japanese), and markers that the cue reports them.
THIRD_JA = re.compile(
    r"(?:友人|友達|友だち|妹|弟|姉|兄|息子|娘|母|父|夫|妻|彼女|彼|同僚|生徒|患者|主人公|ひろいん|犯人|登場人物|子供|子ども"
    r"|部下|先輩|後輩|きゃら|俳優|中学生|高校生|学生|知人|恋人)(?:が|は|も|から)"
)
REPORTED_JA = re.compile(
    r"^[」』\"]?(?:と|って)(?:言|いう|呟|つぶや|叫|打ち明|書|口に|話|line|らいん|めっせーじ|めーる|dm|連絡|送)"
    r"|^[^。]{0,8}(?:らしい|みたい|ようだ|そうだ|ようになっ|している|してる|の跡|のを(?:見|知|発見))"
)
# A laugh right after a cue (「消えたい笑」「死ぬｗ」) marks a joke in Japanese chat.
JOKE_JA = re.compile(r"^[^。！!？?\n]{0,3}?(?:笑|w|草|\(笑\))")
# The verb has its own object (「この案件はもう終わりにしたい」): the wish is about that, not a life.
OBJECT_JA = re.compile(r"(?:[をは]|(?:この|その|あの)[^。、]{1,12}、)[^。、をは]{0,10}$")
SELF_OBJECT_JA = re.compile(r"(?:私|わたし|僕|ぼく|俺|おれ|あたし|自分|人生|命|全部|何もかも|すべて|全て)$")
# Leaving a job, a school or a flat: goodbyes and giving things away belong to that.
LEAVING = re.compile(
    r"送別|退職|退社|辞め|最終出社|卒業|引退|引っ越|転勤|異動|閉店|最終回|連載|終活|えんでぃんぐのーと|遺言書"
    r"|\b(?:leaving|moving|move (?:abroad|out|house|away)|retir\w*|graduat\w*|last day|farewell party"
    r"|relocat\w*)\b"
)
# Leisure: charcoal and rope bought for a barbecue or a camp are not a means.
LEISURE = re.compile(
    r"きゃんぷ|ばーべきゅー|焼き鳥|焼肉|釣り|登山|\b(?:camping|camp|hiking|sailing|climbing|bbq|barbecue|grill\w*)\b"
)
# A screen, a file, an error: 「再起動すれば消えます」 is about them.
TECH_JA = re.compile(r"再起動|削除|表示|ふぁいる|きゃっしゅ|えらー|ばぐ|通知|あいこん|画面|ぼたん|設定|ろぐ")
# Someone's words quoted after a reporting verb ("she texted me "I want to die"", "the song that goes").
REPORTING_EN = re.compile(
    r"\b(?:said|says|say|told (?:me|us|him|her)|texted(?: me)?|wrote|writes|posted|tweeted|messaged(?: me)?"
    r"|goes|sang|sings|asked|yelled|screamed)\W{0,3}$"
)
# A first-person *subject* (「私の書いている漫画」 is a possessive, not the person in crisis).
FIRST_JA = re.compile(r"(?:私|わたし|僕|ぼく|俺|おれ|あたし|自分)(?:は|が|も|だって|って|、)")
QUOTE_OPEN = '「『"“'
QUOTE_CLOSE = '」』"”'

NEG_AFTER_JA = re.compile(
    r"^(?:とは|なんて|なんか|って|と|は)?(?:一度も|全然|別に|まったく|全く)?"
    r"(?:思わ|思って(?:い)?な|思いませ|思ったことは(?:な|ありませ)|考えて(?:い)?な|考えていませ|考えてませ|考えませ"
    r"|わけ(?:じゃ|では)|ではな|じゃな|てない|ていない|ていませ|ません)"
)
DOUBLE_NEG_JA = re.compile(r"^[^。、]{0,12}(?:日は|時は|ことは|日が)(?:な|ありませ)")
NEG_BEFORE_EN = re.compile(
    r"(?:\bnot|\bnever|\bno longer|\bdon['’]?t|\bdo not|\bwon['’]?t|\bwouldn['’]?t|\bisn['’]?t"
    r"|\bwithout|\bnon-?)"
    r"(?:\s+\w+){0,3}\s*$"
)
NOT_NEGATION_EN = re.compile(r"can['’]?t stop|couldn['’]?t stop|can['’]?t help")

PAST = re.compile(r"以前|前は|昔は|かつて|years ago|used to|in the past|when i was (?:younger|a teen)")
RECOVERED = re.compile(
    r"今は|but now|now i['’]?m|i['’]?m (?:doing )?(?:much |so )?(?:better|great|fine|okay|well)"
    r"|回復|元気|治療のおかげ"
    r"|\bclean for\b|\b(?:doing|feel|feeling) (?:much |so )?(?:better|well|great|fine|okay)\b|\brecovered\b"
)
HYPERBOLE_EN = re.compile(
    r"\blol\b|\blmao\b|\bif (?:he|she|they)\b|\bhaha\b|\bif i (?:have|had) to\b|\bone more\b|[😂🤣💀]"
)


def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause (sentence) around ``[start, end)``: from the last stop before to the next after."""
    a = max(text.rfind(ch, max(0, start - 200), start) for ch in "。．.!?！？\n") + 1
    m = CLAUSE.search(text, end, min(len(text), end + 200))
    return a, (m.start() if m else min(len(text), end + 200))


def in_quotes(text: str, start: int, end: int) -> bool:
    """Whether the cue sits between an opening quote before it and a closing one after it, in one clause."""
    before = text[max(0, start - 40) : start]
    opened = max(before.rfind(q) for q in QUOTE_OPEN)
    if opened < 0:
        return False
    if any(before.rfind(q) > opened for q in "」』”"):
        return False
    after = text[end : end + 40]
    return any(q in after for q in QUOTE_CLOSE)


def framed(text: str, start: int, end: int) -> bool:
    """A professional, academic, news or fictional frame near the cue."""
    return FRAME.search(text, max(0, start - FRAME_WINDOW), min(len(text), end + FRAME_WINDOW)) is not None


def negated(text: str, start: int, end: int, lang: str) -> bool:
    """The cue is denied (「死にたいとは思わない」, "I'm not suicidal"), unless doubly so."""
    if lang == "ja":
        after = text[end : end + 24]
        m = NEG_AFTER_JA.match(after)
        return m is not None and DOUBLE_NEG_JA.match(after[m.end() - 1 :]) is None
    a, _ = clause_bounds(text, start, end)
    before = text[max(a, start - 30) : start]
    if NOT_NEGATION_EN.search(before):
        return False
    return NEG_BEFORE_EN.search(before) is not None


def third_person(text: str, start: int, end: int, lang: str) -> bool:
    """The cue reports someone else (Japanese; English cues are first person by construction)."""
    if lang != "ja":
        return third_person_en(text, start, end)
    a, _ = clause_bounds(text, start, end)
    subject = THIRD_JA.search(text, max(a, start - 40), start)
    if subject is None or FIRST_JA.search(text, subject.end(), start):
        return False
    return REPORTED_JA.search(text[end : end + 24]) is not None or in_quotes(text, start, end)


_THIRD_EN = re.compile(
    r"\b(?:he|she|they|my (?:\w+ )?(?:friend|son|daughter|brother|sister|cousin|mom|mum|dad|wife|husband"
    r"|partner|roommate|student|patient|child|kid|colleague|coworker|grandfather|grandmother|grandma|grandpa"
    r"|uncle|aunt|boyfriend|girlfriend|neighbou?r|client|father|mother)|[a-z]+ (?:has|have) been)\b"
)
_REFLEXIVE_EN = re.compile(r"\b(?:himself|herself|themselves|themself)\b")


def third_person_en(text: str, start: int, end: int) -> bool:
    """Someone else does it ("my cousin has been burning herself"): a third-person subject, no "I"."""
    a, b = clause_bounds(text, start, end)
    if _REFLEXIVE_EN.search(text, end, min(b, end + 30)):
        return True
    subject = _THIRD_EN.search(text, max(a, start - 60), start)
    return subject is not None and re.search(r"\bi\b|\bi['’]", text[subject.end() : start]) is None


def recovered(text: str, start: int, end: int) -> bool:
    """A past crisis told as past, with the present said to be better."""
    past = PAST.search(text, max(0, start - 40), start)
    return past is not None and RECOVERED.search(text, end, min(len(text), end + 80)) is not None


def first_person_ja(text: str, start: int) -> bool:
    """An explicit first-person pronoun earlier in the clause."""
    a, _ = clause_bounds(text, start, start)
    pronouns = list(FIRST_JA.finditer(text, a, start))
    # 「僕が書いている小説で、主人公が…」: a third person after the pronoun is the cue's subject.
    return bool(pronouns) and THIRD_JA.search(text, pronouns[-1].end(), start) is None


def reported_en(text: str, start: int, end: int) -> bool:
    """An English cue inside quotes that follow a reporting verb: someone else's words, or a song's."""
    if not in_quotes(text, start, end):
        return False
    before = text[max(0, start - 40) : start]
    opened = max(before.rfind(q) for q in QUOTE_OPEN)
    return REPORTING_EN.search(before[:opened]) is not None


def joke_ja(text: str, end: int) -> bool:
    """「消えたい笑」: a laugh right after the cue."""
    return JOKE_JA.match(text[end : end + 8]) is not None


def other_object_ja(text: str, start: int) -> bool:
    """The verb at ``start`` has an object of its own earlier in the clause."""
    a, _ = clause_bounds(text, start, start)
    lo = max(a, start - 30)
    m = OBJECT_JA.search(text, lo, start)
    return m is not None and SELF_OBJECT_JA.search(text, lo, m.start()) is None


class Marks:
    """Where frame words (and the other window patterns) occur in one text, found once per pattern.

    A cue asks "is there a frame word within ``FRAME_WINDOW`` characters?"; searching the window for each
    cue would cost the window's length per cue (and the frame pattern is a long alternation), so the
    matches are listed once, on first use, and each question is a binary search.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._found: dict[re.Pattern[str], tuple[list[int], list[int]]] = {}

    def near(self, pattern: re.Pattern[str], start: int, end: int) -> bool:
        """A match of ``pattern`` within ``FRAME_WINDOW`` characters of ``[start, end)``."""
        found = self._found.get(pattern)
        if found is None:
            spans = [(m.start(), m.end()) for m in pattern.finditer(self.text) if m.end() > m.start()]
            found = self._found[pattern] = ([a for a, _ in spans], [b for _, b in spans])
        starts, ends = found
        i = bisect_right(ends, start - FRAME_WINDOW)  # the first match ending inside the window
        return i < len(starts) and starts[i] < end + FRAME_WINDOW
