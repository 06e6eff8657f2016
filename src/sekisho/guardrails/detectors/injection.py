"""PROMPT_INJECTION: jailbreaks and instructions smuggled into documents, e-mails, web pages and tool output.

- A logistic regression over hashed character n-grams and words (``injection_features``), trained by
  ``scripts/train_injection.py`` (public sets plus Japanese templates), stored in ``data/injection.npz``
  (float16 weights, loaded once).
- Heuristics for what a classifier trained on short prompts sees least: hidden markers in tool output
  (``<!-- AI: …``, ``IMPORTANT: the assistant must``), fake chat-template tokens, Unicode tag characters
  (U+E0000–E007F) and runs of zero-width characters. Each runs only if its key words are among the
  hashed features, so a text without them costs nothing.

Every sentence, pair of neighbours and the whole prompt is scored from prefix sums of per-position
weights: an instruction buried in a long page is scored on its own, in linear time. The score is the
probability re-centred so 0.5 is the validation operating point (<= 1 % false positives), or the
heuristic's confidence. Either part can flag a segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sekisho.guardrails.detectors.injection_features import CHAR_NGRAMS, I64, featurise, needle_hash
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

PROMPT_INJECTION = "PROMPT_INJECTION"
MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "injection.npz"

F64 = npt.NDArray[np.float64]

_WHOLE_TEXT = 600  # prompts up to this length are also scored whole, like the training prompts
_MIN_WINDOW = 24  # sentences shorter than this are scored only with a neighbour


# --- Heuristics: matched on Text.kana (lower case, katakana folded to hiragana: write it as hiragana) ---
@dataclass(frozen=True, slots=True)
class _Heuristic:
    needles: tuple[str, ...]  # one must be among the text's features for the pattern to run at all
    pattern: re.Pattern[str]
    confidence: float
    unless: re.Pattern[str] | None = None  # inside the match: a benign reading, below the 0.5 bar


def _h(needles: str, pattern: str, confidence: float, flags: int = 0, unless: str = "") -> _Heuristic:
    return _Heuristic(
        tuple(needles.split()), re.compile(pattern, flags), confidence, re.compile(unless) if unless else None
    )


_GAP = r"(?:[\w'’\-]+[\s,]+){0,4}"
_IGNORE = "ignore|disregard|forget"
# Weaker verbs: "the new handbook overrides all previous policies" is ordinary business text.
_BYPASS = "override|bypass|skip|abandon|discard"
_EARLIER = "previous|prior|above|earlier|preceding|former|original|initial|system|all|your|any|existing"
_RULES = "instructions?|prompts?|rules|directives?|guidelines|guardrails|restrictions|constraints|programming"
_SHOW = "reveal|show|print|display|repeat|output|leak|dump|disclose|share|tell me|give me|write out|echo"
_AI = "ai|assistant|llm|language model|chatbot|agent|model"
_HEURISTICS = [
    _h(
        _IGNORE.replace("|", " "),
        rf"\b(?:{_IGNORE})\s+{_GAP}(?:{_EARLIER})\s+(?:[\w\-]+\s+){{0,2}}(?:{_RULES}|commands?|context|policies)\b",
        0.97,
        # "Please disregard my previous instructions about the delivery" is a correction, not an attack.
        unless=r"\b(?:my|our|his|her|their|manager's|client's)\b",
    ),
    _h(
        _BYPASS.replace("|", " "),
        rf"\b(?:{_BYPASS})\s+(?:(?:all|any)\s+(?:of\s+)?)?(?:(?:your|the system'?s?|system"
        rf"|(?:the )?(?:previous|prior|earlier|original|initial))\s+(?:[\w\-]+\s+){{0,2}}(?:{_RULES}|filters)"
        r"|(?:safety|content|ethical)\s+(?:filters?|guidelines|measures|restrictions|protocols)"
        r"|restrictions|guardrails|filters)\b",
        0.95,
    ),
    _h(
        "prompt instructions configuration guidelines message",
        rf"\b(?:{_SHOW})\s+{_GAP}(?:your|the (?:full|exact|hidden|initial|original|secret|complete))\s+"
        r"(?:system\s*prompt|(?:initial|hidden|original|pre-?)\s*prompt|instructions|system message"
        r"|developer message|configuration|guidelines)",
        0.9,
    ),
    _h(
        "anything developer dan jailbreak jailbroken unrestricted unfiltered uncensored character ethical"
        " moral restrictions filters limitations censorship",
        r"\b(?:do anything now|developer mode (?:enabled|activated|on)|dan mode|jailbreak(?:ed)? mode"
        r"|you are (?:now )?(?:dan|an? (?:unrestricted|unfiltered|uncensored) (?:ai|model|assistant))"
        r"|stay in character|no (?:ethical|moral) (?:guidelines|restrictions|limits|constraints)"
        r"|without any (?:restrictions|filters|limitations|censorship))\b",
        0.9,
    ),
    _h("<!--", rf"<!--\s*(?:{_AI}|gpt|claude|gemini|system|instructions?)\b\s*[:\-]", 0.95),
    _h(
        "ai assistant assistants llm chatbot agent agents model models",
        rf"\b(?:important|urgent|attention|note|instruction)s?\b[\s:!\-]{{0,4}}(?:to |for )?(?:the |all )?"
        rf"(?:{_AI})s?\b[\s:,\-]{{0,4}}(?:must|should|shall|needs? to|is required to|will now|now)\b",
        0.9,
    ),
    _h(
        "<|im_ <|sys <<sys [inst [/ins system instructions",
        r"<\|im_start\|>\s*system|<\|system\|>|<<sys>>|\[/?inst\]|^#{2,3} ?(?:system|new instructions?)\s*:",
        0.85,
        re.MULTILINE,
    ),
    _h(
        "instructions directives rules",
        r"\b(?:new|updated|revised|real|true) (?:system )?(?:instructions|directives|rules)\s*:",
        0.85,
    ),
    _h("without", r"\bwithout (?:telling|informing|notifying|alerting|asking) the user\b", 0.85),
    # 日本語: 「以前の指示を無視」「システムプロンプトを表示」「制限を解除」「AIへの指示：」
    _h(
        "無視 忘れ 破棄 取り消 撤回 りせっと 上書き 無効",
        r"(?:(?:以前|前|これまで|上記|上|先ほど|今まで|元|最初|既存|全て|すべて|前述|あらかじめ|与えられた)の?"
        r"(?:指示|命令|指令|るーる|制約|ぷろんぷと|がいどらいん|規則|ぽりしー)"
        # 「設定」 only as the model's own: 「以前の設定を上書き」 is what a configuration manual says.
        r"|(?:あなた|与えられた|あなたに与えられた)の?設定)(?:は|を|も)?"
        r"(?:すべて|全て|全部|一切|完全に)?(?:無視|忘れ|破棄|取り消|撤回|りせっと|上書き|無効)"
        r"(?!(?:に|と)な[りるっ])",  # 「これまでの規則は無効となります」: an announcement
        0.97,
    ),
    _h(
        "ぷろんぷと 指示 設定 るーる",
        r"(?:しすてむぷろんぷと|初期ぷろんぷと|隠された指示|内部の?指示|開発者めっせーじ|しすてむ指示"
        r"|設定された指示|あなたの(?:指示|設定|ぷろんぷと|るーる))(?:を|の内容を?|の全文を?)?"
        r"(?:すべて|そのまま|全文)?(?:表示|出力|教え|見せ|開示|公開|漏ら|書き出|繰り返|共有)",
        0.9,
    ),
    _h(
        "倫理 ふぃるた 検閲 がいどら 制限 制約 もーど",
        r"(?:倫理|安全|ふぃるたー|検閲|がいどらいん)(?:上の|的な)?(?:制限|制約|規則|ふぃるたー)?"
        r"(?:を|は)?(?:すべて|全て|一切)?(?:無視|解除|無効|外し|取り払|おふ)"
        r"|(?:制限|制約|ふぃるたー|検閲)の?(?:ない|無い|なし|かからない)(?:ai|あしすたんと|もーど|ちゃっとぼっと|状態)"
        r"|(?:開発者|でばっぐ|じぇいるぶれいく|だん)もーど",
        0.88,
    ),
    _h(
        "指示 命令 重要 知らせ 伝え 言わ 気付か",
        r"(?:ai|あしすたんと|あなた|もでる|えーじぇんと)(?:へ|に)の(?:指示|命令|注意|隠し指示)\s*[:]"
        r"|重要\s*[:]?\s*(?:ai|あしすたんと|ちゃっとぼっと|もでる|えーじぇんと)(?:は|が)"
        r"|(?:ゆーざー|利用者|使用者)に(?:は)?(?:知らせ|伝え|言わ|気付かれ)(?:ず|ない)",
        0.88,
    ),
]
# Discussing injection is not injecting: a heuristic hit in a sentence that talks about attacks is halved.
_META = re.compile(
    r"prompt injection|jailbreak (?:attack|detection|prompts?)|(?:how|ways) (?:do|can|to|should) "
    r"(?:i|we|you)? ?(?:detect|prevent|protect|defend|block|mitigate|stop)|ぷろんぷとい(?:ん|ぃ)じぇくしょん"
    r"|対策|防ぐ|防御|検知|とは何"
)
_TAGS = re.compile("[\U000e0000-\U000e007f]{2,}")
_INVISIBLE = re.compile("(?:[\u200b-\u200d\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069][^\n]{0,3}){6,}")


_Gates = tuple[npt.NDArray[np.bool_], dict[int, int]]


@cache
def _load(path: str) -> tuple[npt.NDArray[np.float32], float, tuple[float, float], int, _Gates]:
    with np.load(path) as data:
        weights = data["weights"].astype(np.float32)
        bias, bits = float(data["bias"]), int(data["bits"])
        threshold = (float(data["threshold"]), float(data["window_threshold"]))
    # Two stages: a bucket table finds the few candidate features, their 64-bit hashes confirm them
    # (with ~10,000 features in 2**18 buckets, buckets alone would open a gate by collision too often).
    table, exact = np.zeros(1 << bits, np.bool_), dict[int, int]()
    for i, heuristic in enumerate(_HEURISTICS):
        for needle in heuristic.needles:
            bucket, full = needle_hash(needle, bits)
            table[bucket] = True
            exact[full] = exact.get(full, 0) | 1 << i
    return weights, bias, threshold, bits, (table, exact)


@dataclass(frozen=True, slots=True)
class Scored:
    """Scored windows of one text (offsets into ``Text.norm``); the first ``sentences`` are sentences."""

    starts: I64
    ends: I64
    logits: F64  # classifier logit minus the threshold: > 0 is flagged
    sentences: int
    whole: bool  # the last window is the whole text
    gates: int  # heuristics whose key words are present (bit i for _HEURISTICS[i])


class InjectionDetector:
    """Prompt injection and jailbreaks, English and Japanese: a trained linear classifier plus heuristics."""

    name = "prompt_injection"
    types = frozenset({PROMPT_INJECTION})

    def __init__(
        self,
        *,
        model: str | None = None,
        threshold: float | None = None,
        window_threshold: float | None = None,
        heuristics: bool = True,
    ) -> None:
        self.weights, self.bias, trained, self.bits, self.gates = _load(str(model or MODEL_PATH))
        # Logits. A sentence cut from a long text scores noisier than a whole prompt: it has its own bar.
        self.threshold = trained[0] if threshold is None else threshold
        self.window_threshold = trained[1] if window_threshold is None else window_threshold
        self.heuristics = heuristics

    def score(self, text: Text) -> Scored:
        """Every sentence (long ones cut in pieces), every pair of neighbours, the whole prompt."""
        folded = text.kana if len(text.kana) == len(text.norm) else text.norm.lower()
        f = featurise(folded, self.bits)
        seg_start, seg_end = f.bounds[:-1], f.bounds[1:]
        whole = 1 if f.length <= _WHOLE_TEXT else 0
        starts = np.concatenate((seg_start, seg_start[:-1], np.zeros(whole, np.int64)))
        ends = np.concatenate((seg_end, seg_end[1:], np.full(whole, f.length, np.int64)))
        kept = f.kept.astype(np.float64)
        weights = self.weights[f.buckets] * kept
        # Character n-grams sit one per position: aligned adds; only the words need a bincount.
        words, size = f.positions[f.dense :], f.length + 1  # (bincount of nothing is an int array)
        contribution = np.bincount(words, weights[f.dense :], size).astype(np.float64, copy=False)
        count = np.bincount(words, kept[f.dense :], size).astype(np.float64, copy=False)
        offset = 0
        for n in CHAR_NGRAMS[: f.length]:
            m = f.length - n + 1
            contribution[:m] += weights[offset : offset + m]
            count[:m] += kept[offset : offset + m]
            offset += m
        c_sum = np.concatenate(([0.0], np.cumsum(contribution)))
        n_sum = np.concatenate(([0.0], np.cumsum(count)))
        bars = np.full(len(starts), self.window_threshold)
        bars[len(starts) - whole :] = self.threshold
        # A lone short sentence ("Fix your system.") is too little evidence; its pairs still count.
        bars[: len(seg_start)][seg_end - seg_start < _MIN_WINDOW] = np.inf
        if whole and f.length < _MIN_WINDOW:
            # A whole prompt this short ("summarise this", "who are you?") is everyday chat far more
            # often than an attack; the classifier cannot tell them apart, so only the rules judge it.
            bars[-1] = np.inf
        norms = np.sqrt(np.maximum(n_sum[ends] - n_sum[starts], 1.0))
        logits = self.bias - bars + (c_sum[ends] - c_sum[starts]) / norms
        if f.where is not None:  # back from visible characters to the text
            where = np.concatenate((f.where, [len(folded)]))
            starts, ends = where[starts], np.concatenate(([0], f.where + 1))[ends]
        table, exact = self.gates
        gates = 0
        for full in f.hashes[np.flatnonzero(table[f.buckets])].tolist():
            gates |= exact.get(full, 0)
        return Scored(starts, ends, logits, len(seg_start), bool(whole), gates)

    def detect(self, text: Text) -> list[Finding]:
        if not text.norm.strip():
            return []
        scored = self.score(text)
        heuristic = self.heuristic_hits(text, scored) if self.heuristics else []
        # The tightest flagged windows: a pair only if neither of its sentences is flagged on its own,
        # the whole prompt only if nothing inside it is.
        n = scored.sentences
        single = scored.logits[:n] > 0
        for a, _, s in heuristic if n else ():  # (a text of zero-width characters only has no sentence)
            k = int(np.searchsorted(scored.starts[:n], a, side="right")) - 1
            single[max(k, 0)] |= s >= 0.5
        pair = (scored.logits[n : 2 * n - 1] > 0) & ~single[:-1] & ~single[1:]
        flags = np.concatenate((scored.logits[:n] > 0, pair, scored.logits[2 * n - 1 :] > 0))
        if scored.whole and flags[:-1].any() | single.any():
            flags[-1] = False
        flagged = np.flatnonzero(flags)
        probability = 1.0 / (1.0 + np.exp(-scored.logits[flagged]))
        where = scored.starts[flagged].tolist(), scored.ends[flagged].tolist()
        hits = list(zip(*where, probability.tolist(), strict=True)) + heuristic
        return [text.finding(PROMPT_INJECTION, a, b, s, self.name) for a, b, s in _merge(hits, text.norm)]

    def heuristic_hits(self, text: Text, scored: Scored) -> list[tuple[int, int, float]]:
        """Heuristic matches widened to their sentence, with their confidence."""
        folded = text.kana if len(text.kana) == len(text.norm) else text.norm.lower()
        sentence_start = scored.starts[: scored.sentences]
        sentence_end = scored.ends[: scored.sentences]
        out: list[tuple[int, int, float]] = []
        for i, heuristic in enumerate(_HEURISTICS):
            if not scored.gates >> i & 1:
                continue
            for match in heuristic.pattern.finditer(folded):
                k = max(int(np.searchsorted(sentence_start, match.start(), side="right")) - 1, 0)
                a = min(int(sentence_start[k]), match.start())
                b = max(int(sentence_end[k]), match.end())
                meta = _META.search(folded, max(0, a - 200), min(len(folded), b + 200)) is not None
                benign = heuristic.unless is not None and heuristic.unless.search(match.group()) is not None
                out.append((a, b, 0.45 if benign else heuristic.confidence * (0.5 if meta else 1.0)))
        if text.norm.isascii():
            return out
        for match in _TAGS.finditer(text.norm):
            # Flag emoji (🏴 + tags + cancel tag) are the one legitimate use of tag characters.
            if not (match.start() > 0 and text.norm[match.start() - 1] == "\U0001f3f4"):
                out.append((match.start(), match.end(), 0.95))
        for match in _INVISIBLE.finditer(text.norm):
            out.append((match.start(), match.end(), 0.8))
        return out


def _merge(hits: list[tuple[int, int, float]], norm: str) -> list[tuple[int, int, float]]:
    """Overlapping flagged windows become one finding with the highest score; whitespace trimmed."""
    merged: list[list[float]] = []
    for a, b, s in sorted(hits):
        if merged and a < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
            merged[-1][2] = max(merged[-1][2], s)
        else:
            merged.append([a, b, s])
    out: list[tuple[int, int, float]] = []
    for a_, b_, s in merged:
        a, b = int(a_), int(b_)
        piece = norm[a:b]
        a, b = a + len(piece) - len(piece.lstrip()), b - len(piece) + len(piece.rstrip())
        if b > a:
            out.append((a, b, s))
    return out
