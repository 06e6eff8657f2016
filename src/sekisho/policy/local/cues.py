"""Cue words in Japanese and English: the domain a request touches and what it asks the model to do.

A cue alone decides nothing. Each match becomes a feature token for the linear model (and pairs such
as *decide* + *employment* become one more token, because the conjunction is what makes a request
``review``: neither "hire" nor "decide" alone does), and a short human-readable signal. The cascade
also uses them: a text with no cue and a confident ``none`` skips the embedding model.

Patterns run on ``features.fold`` output (NFKC, lower case, katakana folded to hiragana, so katakana
words are written here in hiragana). A signal names the domain, or quotes the cue word that matched
(at most 16 characters, never digits), never more of the user's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

# (kind, label, pattern). Kinds: dom:<category> (domain), decide, act, auto (no person in between),
# person (a person decides), info (asks about), pose / ask (impersonation), vote / false (elections),
# scale / fake (campaigning at scale), aware (awareness, training).
_CUES: tuple[tuple[str, str, str], ...] = (
    (
        "dom:credit_finance",
        "credit",
        r"loan|mortgage|credit|borrower|underwrit|lending|融資|ろーん|与信|審査.{0,4}(可決|否決)"
        r"|限度額|借入|口座.{0,3}凍結|account freeze|freeze .{0,20}account",
    ),
    ("dom:insurance", "insurance", r"insur|claim|policyholder|premium|保険|査定|引受|契約者"),
    (
        "dom:employment",
        "employment",
        r"candidate|applicant|hire|hiring|fire |layoff|lay off|terminat|promot|employee|recruit"
        r"|候補者|応募者|採用|不採用|採否|内定|解雇|懲戒|昇進|人事評価|社員|従業員|選考",
    ),
    ("dom:housing", "housing", r"tenant|rental|lease|evict|landlord|housing|入居|賃貸|退去|家賃|公営住宅"),
    (
        "dom:education",
        "education",
        r"grade|grading|essay|exam|admission|admit|student|scholarship|expel|採点|成績|入試|合否"
        r"|合格|学生|生徒|奨学金|退学|答案|単位",
    ),
    (
        "dom:medical",
        "medical",
        r"patient|diagnos|prescri|dose|dosage|treatment|insulin|ventilator|triage|診断|処方|患者|投与"
        r"|用量|治療|とりあーじ|いんすりん|症状",
    ),
    (
        "dom:government_benefits",
        "benefits",
        r"benefit|welfare|snap|medicaid|unemployment|eligib|生活保護|給付|手当|受給"
        r"|要介護|年金",
    ),
    (
        "dom:migration",
        "migration",
        r"visa|asylum|deport|immigra|refugee|border|entry|びざ|在留|難民|入国|強制送還|入管",
    ),
    (
        "dom:law_enforcement",
        "law enforcement",
        r"suspect|arrest|mugshot|cctv|surveil|police|bail|detain|watchlist|容疑者"
        r"|逮捕|手配|顔認証|防犯かめら|保釈|警察|監視",
    ),
    (
        "dom:national_security",
        "national security",
        r"no-fly|clearance|strike|target|threat|counterintel|terror|迎撃|攻撃"
        r"|くりあらんす|搭乗禁止|てろ|脅威",
    ),
    (
        "dom:critical_infrastructure",
        "infrastructure",
        r"reactor|valve|scada|grid|dam |floodgate|pipeline|substation|setpoint"
        r"|pump|原子炉|弁|変電|送電|停電|だむ|放流|ぱいぷらいん|浄水|発電|列車|運行",
    ),
    (
        "dom:product_safety",
        "product safety",
        r"airbag|brake|recall|safety cert|overpressure|battery|elevator|えあばっぐ"
        r"|ぶれーき|りこーる|安全装置|安全検査|出荷|えれべーたー|ばってりー",
    ),
    (
        "decide",
        "decide",
        r"decide|determine|approve|reject|deny|decline|grant|accept or|admit or|pick which|choose which"
        r"|決めて|決定して|判断して|判定して|可否|承認|否決|却下|不採用に|不許可|確定して|選んで|振り分け",
    ),
    ("decide", "diagnose/grade", r"diagnos|prescribe|grade these|grade the|score the|採点して|診断して|処方"),
    (
        "decide",
        "control",
        r"\bset the\b|open the|shut down|turn on the|adjust the|increase the|操作して|設定して|止めて"
        r"|作動させ|開けて",
    ),
    (
        "act",
        "notify",
        r"send (them|the|him|her)|email (them|the|her|him)|notify|message the|mail the"
        r"|通知して|送って|送信|連絡して|通知書|返信して",
    ),
    (
        "act",
        "write to system",
        r"update the|post (it|the result)|enter (it|the)|upload|submit|execute|via the api|登録して"
        r"|反映して|実行して|発行して|指示を出して",
    ),
    (
        "auto",
        "no person",
        r"without (physician|human|a person|sign-off|review)|automatically|auto-|final|directly"
        r"|no operator|確認は不要|自動で|最終決定|そのまま",
    ),
    (
        "person",
        "person decides",
        r"i'll decide|i will decide|who will decide|will make the decision|their call|final call"
        r"|i'll (review|pick|do the|sign)|they'll (review|personalise|decide)|for the hiring manager"
        r"|for the (loan officer|committee|adjuster|doctor|teacher)|myself|my own"
        r"|判断は|私が(判断|決め)|担当者が|最終判断|私が行|自分で|教員が",
    ),
    (
        "info",
        "asks about",
        r"explain|what (is|are)|how (does|do|did|can)|overview|pros and cons|compare|comparison"
        r"|summari[sz]e|template|checklist|rubric|教えて|説明して|とは|比較|まとめて|要約|ひな形|文例|ちぇっくりすと",
    ),
    (
        "pose",
        "impersonation",
        r"pretend|pose as|impersonat|as if (you|it|i)|looks like it('s| is)? (from|comes)|in the name of"
        r"|posing|signed as|sign it as|claims? to be"
        r"|なりすま|装って|ふりをして|名乗って|の名前で|本人として|っぽい文体",
    ),
    (
        "ask",
        "payment or secret",
        r"wire|gift card|pin\b|password|card number|verify .{0,15}account|bank account|transfer"
        r"|振り?込|暗証番号|ぎふとかーど|口座|ぱすわーど|お金|還付",
    ),
    (
        "vote",
        "voting",
        r"vote|voter|voting|ballot|polling|election|primary|referendum|投票|選挙|選管|有権者|開票",
    ),
    (
        "false",
        "false or suppressing",
        r"moved|postpone|cancel|no longer|instead of|rigged|stay home|pointless|expired"
        r"|arrest|isn't true|not true|fewer people|延期|変更にな|廃止|嘘|偽|無駄|無効|行かない|必要だと",
    ),
    (
        "scale",
        "at scale",
        r"\b\d{2,}[\d,]* (different |unique |personal|distinct )?\w*|hundreds|thousands|every (registered )?"
        r"voter|each (voter|contact)|\d{2,}(件|通|人|個|ぱたーん)|数百|大量",
    ),
    (
        "fake",
        "fake voices",
        r"fake|made-up|sockpuppet|persona|bot|organic|different (names|writing|voices)|grassroots"
        r"|架空|別々|別人|ぼっと|一般人|やらせ|装",
    ),
    (
        "aware",
        "awareness",
        r"awareness|training|red flags|spot|recogni[sz]e|report it|研修|見分け|注意喚起|対策|予防|手口",
    ),
)


@dataclass(frozen=True, slots=True)
class Cues:
    """What matched in one text: feature tokens for the model and human-readable signals."""

    tokens: tuple[str, ...]
    signals: tuple[str, ...]
    kinds: frozenset[str]

    @property
    def risky(self) -> bool:
        """A cue of a domain, a decision or action, or a prohibited use (not merely "asks about")."""
        return bool(self.kinds - _BENIGN)


_BENIGN = frozenset({"info", "person", "aware"})  # cues that say a person decides or the user asks about


@cache
def _compiled() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    # An English cue starts a word: "lease" is not in "please", "grade" not in "upgrade". (Japanese
    # has no spaces; the look-behind only refuses a Latin letter before the cue.)
    return tuple((kind, label, re.compile(rf"(?<![a-z])(?:{pattern})")) for kind, label, pattern in _CUES)


def match(folded: str) -> Cues:
    """Cues found in a folded, focused text."""
    kinds: dict[str, str] = {}
    for kind, label, pattern in _compiled():
        if kind not in kinds and (found := pattern.search(folded)):
            word = found.group(0).strip()
            # The cue word itself when it is a short word (no digits: a number may be personal data).
            kinds[kind] = word if 0 < len(word) <= 16 and not any(c.isdigit() for c in word) else label
    domains = sorted(k for k in kinds if k.startswith("dom:"))
    plain = sorted(k for k in kinds if not k.startswith("dom:"))
    tokens = [*domains, *plain]
    # Conjunctions: the linear model cannot multiply, so the pairs that carry the meaning are tokens.
    tokens += [f"{p}+{d}" for d in domains for p in plain if p in ("decide", "act", "auto", "person", "info")]
    tokens += [f"{a}+{b}" for i, a in enumerate(plain) for b in plain[i + 1 :]]
    signals = [f"domain: {d[4:]}" for d in domains]
    describe = {
        "decide": "asks to decide",
        "act": "asks to carry out",
        "auto": "no person in between",
        "person": "a person decides",
        "info": "asks for information",
        "pose": "impersonation cue",
        "ask": "asks for",
        "vote": "voting cue",
        "false": "false claim cue",
        "scale": "volume",
        "fake": "inauthentic voices",
        "aware": "awareness",
    }
    signals += [f"{describe[k]}: {kinds[k]}" for k in plain]
    return Cues(tuple(tokens), tuple(signals), frozenset(kinds))
