"""A small linear token tagger for person names and street addresses in Latin-script text.

Every token is tagged O, PERSON or ADDRESS by a multinomial logistic model over sparse features of the
token and of the two tokens on either side of it. Scores are a sum of per-token contributions, so the
contribution of a token (its features at each of the five relative positions) is computed once per
distinct token string and cached across calls: tagging a text costs a tokenisation, one dictionary
lookup per token and a handful of numpy slice additions. The weights are trained on synthetic text by
``scripts/train_en_ner.py`` (see ``data/en_ner.NOTICE.md``); this module only needs numpy.

What the model sees (and so what it can generalise from): the shape and capitalisation of the token,
its prefixes and suffixes, whether it is in the census name lists or in the street, unit, region and
organisation lexicons, whether the whole text is written in lower or upper case, and the lower-cased
identity of the *neighbouring* tokens when they are common words of the templates ("name", "dear",
"street", ":"). The identity of the token being tagged is never a feature, so an unseen name is judged
by its shape and surroundings, not remembered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from io import BytesIO
from itertools import accumulate

import numpy as np
import numpy.typing as npt

from sekisho.guardrails.detectors import en_address as _addr
from sekisho.guardrails.detectors import en_person as _person
from sekisho.guardrails.text import Text

LABELS = ("O", "PERSON", "ADDRESS")
OFFSETS = (-2, -1, 0, 1, 2)
# A token: a run of letters and digits with inner apostrophes and hyphens ("O'Brien", "Smith-Jones",
# "221B"; a possessive "'s" is split off), a line break, or one punctuation character.
TOKEN = re.compile(r"[^\W_]+(?:['’](?!s\b)[^\W_]+|-[^\W_]+)*|\n|[^\w\s]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_SPLIT = re.compile(f"({TOKEN.pattern})")
_DIGIT = re.compile(r"[0-9]")
_CJK_RUN = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]+")


_WORD = re.compile(r"[A-Za-z\u00c0-\u024f][a-z\u00df-\u024f]{2,}")
_NO_LATIN_LINE = re.compile(r"^[^A-Za-z\u00c0-\u024f\n]+$", re.MULTILINE)


def _blank(match: re.Match[str]) -> str:
    return " " * (match.end() - match.start())


_DIGIT_FOLD = str.maketrans("0123456789", "0000000000")

_STREET_TYPES = frozenset(s.lower() for s in _addr._SUFFIXES)
_STREET_ABBR = frozenset(s.lower() for s in _addr._ABBREVIATIONS)
_TYPE_FIRST = frozenset(s.lower().rstrip(".") for s in _addr._EU_TYPES_FIRST)
_TYPE_IN_WORD = tuple(t.rstrip(".") for t in _addr._EU_TYPES_IN_WORD if len(t) > 3)
_UNITS = frozenset(
    "apt apartment suite ste unit flat floor fl room rm bldg building box po p o dept level studio "
    "piso puerta planta piano scala interno stock etage bus whg appartamento no nr n".split()
)
_DIRECTIONS = frozenset("n s e w ne nw se sw north south east west".split())
_STATES = frozenset(
    "al ak az ar ca co ct de fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj nm ny nc nd "
    "oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy dc pr gu vi aa ae ap nsw vic qld tas act nt wa sa "
    "ab bc mb nb nl ns on pe qc sk yt".split()
)
_COUNTRY_WORDS = frozenset(
    "united states kingdom america usa uk germany deutschland france italia italy espana spain "
    "nederland netherlands australia canada ireland zealand brasil brazil polska poland sverige sweden "
    "suomi finland danmark denmark norge norway india japan china mexico portugal austria schweiz "
    "switzerland belgium belgique czech republic hungary magyarorszag turkey turkiye".split()
)
_PARTICLES = frozenset(
    "van von der den de del della di da du la le dos das ter ten bin ibn al el zu y e".split()
)
_MONTHS_DAYS = frozenset(
    "january february march april may june july august september october november december jan feb mar "
    "apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday".split()
)
# Features that only make sense for the token being tagged (offset 0): its affixes and length, and
# their combination with how the whole text is cased. Context identity ("w=") is never used at offset 0.
OWN_ONLY = ("p2=", "p3=", "p4=", "s2=", "s3=", "s4=", "len=", "dm", "sg=")
CONTEXT_ONLY = ("w=",)


def doc_mode(norm: str) -> str:
    """'l' for text typed all in lower case, 'u' for text in capitals, 'm' otherwise (C-speed tests)."""
    if norm.islower():
        return "l"
    return "u" if norm.isupper() else "m"


def shape(token: str) -> str:
    out: list[str] = []
    prev = ""
    for c in token[:12]:
        # Letters without case (kana, kanji, Hangul) are one class: their identity is never a feature.
        k = "X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else "o" if c.isalpha() else c
        if k != prev:
            out.append(k)
            prev = k
    return "".join(out)


def token_features(token: str, mode: str) -> list[str]:
    """Every feature of one token; the trainer and the tagger both use this function."""
    if token == "\n":  # noqa: S105 - a line break, not a password
        return ["sh=NL", "w=\\n"]
    lower = token.lower()
    if not token[0].isalnum():
        return [f"w={lower}", "sh=P"]
    sh = shape(token)
    feats = [f"sh={sh}", f"dm{mode}|{sh}", f"w={lower}"]
    if token.isdigit():
        n = len(token)
        feats += [f"nd={n}", f"p1d={token[0]}" if n >= 4 else "nd<4"]
        return feats
    gaz = _person._gazetteer()
    key = lower.replace("’", "'")
    first = key in gaz.first or _person._parts_in(key, gaz.first)
    last = key in gaz.last or _person._parts_in(key, gaz.last)
    g = ("f" if first else "") + ("a" if key in gaz.ambiguous_first else "")
    g += ("l" if last else "") + ("b" if key in gaz.ambiguous_last else "")
    feats.append(f"gz={g}")
    feats.append(f"sg={sh}|{g}")
    feats.append(f"dm{mode}|gz={g}")
    for name, lexicon in (
        ("title", _person._TITLES),
        ("greet", _person._GREETINGS),
        ("stop", _person._STOP),
        ("orgtail", _person._ORG_OR_PLACE_TAIL),
        ("place", _person._PLACES),
        ("placebefore", _person._PLACE_BEFORE),
        ("street", _STREET_TYPES),
        ("sabbr", _STREET_ABBR),
        ("typefirst", _TYPE_FIRST),
        ("unit", _UNITS),
        ("dir", _DIRECTIONS),
        ("state", _STATES),
        ("country", _COUNTRY_WORDS),
        ("particle", _PARTICLES),
        ("month", _MONTHS_DAYS),
    ):
        if key in lexicon:
            feats.append(f"lx={name}")
    if lower.endswith(_TYPE_IN_WORD):
        feats.append("lx=streetword")
    if _DIGIT.search(token) is not None:
        feats.append(f"alnum={token.translate(_DIGIT_FOLD)[:8]}")
        return feats
    n = len(lower)
    feats.append(f"len={min(n, 10)}")
    if n >= 3:
        feats += [f"p2={lower[:2]}", f"p3={lower[:3]}", f"s2={lower[-2:]}", f"s3={lower[-3:]}"]
        if n >= 5:
            feats += [f"p4={lower[:4]}", f"s4={lower[-4:]}"]
    if not token.isascii():
        feats.append("nonascii")
    return feats


@dataclass(frozen=True, slots=True)
class Model:
    """Feature index, weights (features x offsets x labels) and per-label bias, and the second stage."""

    index: dict[str, int]
    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]
    stack: npt.NDArray[np.float32] | None = None
    stack_bias: npt.NDArray[np.float32] | None = None


STACK_OFFSETS = (-3, -2, -1, 0, 1, 2, 3)
# Pairs of neighbours whose agreement bridges a token between them ("Calle de María Jesús Pou 83").
STACK_PAIRS = ((-1, 1), (-2, 1), (-1, 2), (-2, 2))


N_CLASSES = 7


def token_class(token: str) -> int:
    """0 punctuation, 1 line break, 2 Capitalised, 3 lower, 4 CAPITALS, 5 with digits, 6 one capital."""
    if token == "\n":  # noqa: S105 - a line break, not a password
        return 1
    if not token[0].isalnum():
        return 0
    if _DIGIT.search(token) is not None:
        return 5
    if token.isupper():
        return 6 if len(token) == 1 else 4
    return 2 if token[0].isupper() else 3


def stack_features(scores: npt.NDArray[np.float32], classes: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    """Second-stage inputs: first-stage log-probabilities of the token and its neighbours (±3), for
    PERSON and ADDRESS the products of the probabilities on both sides of it, and the token classes of
    the token and its two neighbours (so "Klára T. Roze" can bridge the initial's dot)."""
    n = len(scores)
    z = scores - scores.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    pad = 3
    padded = np.full((n + 2 * pad, len(LABELS)), -20.0, dtype=np.float32)
    padded[:, 0] = 0.0  # beyond the text: certainly O
    padded[pad : pad + n] = logp
    cols = [padded[pad + off : pad + off + n] for off in STACK_OFFSETS]
    prob = np.exp(padded[:, 1:])
    cols += [prob[pad + a : pad + a + n] * prob[pad + b : pad + b + n] for a, b in STACK_PAIRS]
    onehot = np.zeros((n + 2, N_CLASSES), dtype=np.float32)
    onehot[np.arange(1, n + 1), classes] = 1.0
    own = onehot[1 : n + 1]
    cols += [onehot[0:n], own, onehot[2 : n + 2]]
    # The neighbours' PERSON/ADDRESS probabilities times the token's own class: a capitalised word next
    # to a name is likely part of it, a dot or a comma much less so.
    for off in (-1, 1):
        side = prob[pad + off : pad + off + n]
        cols += [side[:, k : k + 1] * own for k in range(side.shape[1])]
    return np.concatenate(cols, axis=1)


def restack(
    scores: npt.NDArray[np.float32],
    classes: npt.NDArray[np.intp],
    w: npt.NDArray[np.float32],
    b: npt.NDArray[np.float32] | None,
) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = stack_features(scores, classes) @ w
    return out + b if b is not None else out


@cache
def model() -> Model:
    raw = resources.files("sekisho.guardrails").joinpath("data/en_ner.npz").read_bytes()
    with np.load(BytesIO(raw)) as data:
        names = bytes(data["features"]).decode("utf-8").split("\x00")
        weights = data["weights"].astype(np.float32) * float(data["scale"])
        bias = data["bias"].astype(np.float32)
        stack = data["stack"].astype(np.float32) if "stack" in data else None
        stack_bias = data["stack_bias"].astype(np.float32) if "stack" in data else None
    return Model({n: i for i, n in enumerate(names)}, weights, bias, stack, stack_bias)


class _Table:
    """Per-token contributions (offsets x labels), one row per distinct token string seen so far."""

    def __init__(self, m: Model, limit: int = 200_000) -> None:
        self.model = m
        self.limit = limit
        self.rows: dict[str, int] = {}
        self.table = np.zeros((1024, len(OFFSETS), len(LABELS)), dtype=np.float32)
        self.classes = np.zeros(1024, dtype=np.intp)

    def rows_for(self, tokens: list[str], mode: str) -> npt.NDArray[np.intp]:
        rows = self.rows
        get = rows.get
        keys = tokens if mode == "m" else [mode + "\x00" + t for t in tokens]
        out = list(map(get, keys))  # map keeps the loop in C
        if None in out:
            if len(rows) + len(tokens) > self.limit:
                rows.clear()  # a long-running process sees unbounded vocabulary: start afresh
            self._add({t for t, r in zip(tokens, out, strict=True) if r is None}, mode)
            out = list(map(get, keys))
        return np.fromiter(out, dtype=np.intp, count=len(out))

    def _add(self, new: set[str], mode: str) -> None:
        """Rows for tokens not seen before, with one numpy gather-and-sum for all of them."""
        index = self.model.index
        ids: list[int] = []
        starts: list[int] = []
        empty: list[int] = []
        for k, token in enumerate(new):
            starts.append(len(ids))
            ids.extend(i for i in map(index.get, token_features(token, mode)) if i is not None)
            if len(ids) == starts[-1]:
                empty.append(k)
        first = len(self.rows)
        while first + len(new) > len(self.table):
            self.table = np.concatenate([self.table, np.zeros_like(self.table)])
            self.classes = np.concatenate([self.classes, np.zeros_like(self.classes)])
        if empty and empty[-1] == len(starts) - 1:
            ids.append(0)  # reduceat needs every start inside the array; that row is zeroed below
        sums = np.add.reduceat(self.model.weights[ids], starts, axis=0)
        sums[empty] = 0.0  # reduceat of an empty range yields the row at its start, not zero
        self.table[first : first + len(new)] = sums
        for k, token in enumerate(new):
            self.classes[first + k] = token_class(token)
            self.rows[token if mode == "m" else mode + "\x00" + token] = first + k


@cache
def _table() -> _Table:
    return _Table(model())


@dataclass(frozen=True, slots=True)
class Tagged:
    """Spans per label as (start, end, mean probability), offsets into ``norm``."""

    person: list[tuple[int, int, float]]
    address: list[tuple[int, int, float]]


_EMPTY = Tagged([], [])


def tag(text: Text) -> Tagged:
    """The tagger's spans for ``text``, computed once per text (shared by both detectors)."""
    return text.shared("en_ner", _tag)


def _tag(text: Text) -> Tagged:
    norm = text.norm
    if _LATIN.search(norm) is None:
        return _EMPTY
    mixed = _CJK_RUN.search(norm) is not None
    if mixed:
        # Japanese (or Chinese, Korean) runs are blanked, same length so offsets hold: an English tagger
        # has nothing to say about them, and every new run would cost a feature computation.
        norm = _CJK_RUN.sub(_blank, norm)
        # Then every line left without a Latin letter (digits and punctuation between Japanese words).
        norm = _NO_LATIN_LINE.sub(_blank, norm)
    # re.split with a capturing group gives [gap, token, gap, token, ...] at C speed; cumulative lengths
    # then give every token's offsets without a Python call per match.
    parts = _SPLIT.split(norm)
    tokens = parts[1::2]
    if not tokens:
        return _EMPTY
    ends = list(accumulate(map(len, parts)))
    table = _table()
    rows = table.rows_for(tokens, doc_mode(norm))
    contrib = table.table[rows]  # tokens x offsets x labels
    n = len(tokens)
    scores = np.broadcast_to(table.model.bias, (n, len(LABELS))).copy()
    for k, off in enumerate(OFFSETS):
        # Token j at relative position ``off`` of token i = j - off adds contrib[j, k] to i.
        if off < 0:
            scores[-off:] += contrib[: n + off, k]
        elif off > 0:
            scores[: n - off] += contrib[off:, k]
        else:
            scores += contrib[:, k]
    if table.model.stack is not None:
        scores = restack(scores, table.classes[rows], table.model.stack, table.model.stack_bias)
    labels = scores.argmax(axis=1)
    hits = np.flatnonzero(labels)
    if not len(hits):
        return _EMPTY
    # The probability of each token's label, summed cumulatively: a span's mean is then two lookups.
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    chosen = z[np.arange(n), labels] / z.sum(axis=1)
    cumulative = np.concatenate(([0.0], np.cumsum(chosen))).tolist()
    kinds = labels.tolist()
    runs: dict[int, list[tuple[int, int]]] = {1: [], 2: []}
    run_start = prev = int(hits[0])
    for h in [*hits[1:].tolist(), -1]:
        if h == prev + 1 and kinds[h] == kinds[prev]:
            prev = h
            continue
        span = _trim(tokens, run_start, prev)
        if span is not None:
            runs[kinds[span[0]]].append(span)
        run_start = prev = h
    runs[2] = _grow_addresses(tokens, runs[2])
    spans = {
        kind: [
            (ends[2 * a], ends[2 * b + 1], (cumulative[b + 1] - cumulative[a]) / (b + 1 - a))
            for a, b in found
        ]
        for kind, found in runs.items()
    }
    if mixed:
        # In Japanese text the leftovers are mostly numbers, codes and 2F-style floors; an English name or
        # address has at least one real word in it ("Smith", "Street") and never spans a blanked Japanese run.
        original = text.norm
        for kind in spans:
            spans[kind] = [
                s
                for s in spans[kind]
                if _WORD.search(original, s[0], s[1]) is not None
                and _CJK_RUN.search(original, s[0], s[1]) is None
            ]
    return Tagged(spans[1], spans[2])


_JOINERS = frozenset({"\n", ">", ",", "-", "/"})


def _grow_addresses(tokens: list[str], runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Address runs widened where the tagger is unsure at the edges: a house number before the street
    ("1600 Pennsylvania Ave", "7/1 Beach Parade", "12, rue de la Paix"), a "/12" after it, and runs
    split only by line breaks, quote marks or commas ("Flat 3\nKings Close\n> Oxford") joined."""
    out: list[tuple[int, int]] = []
    for a, b in runs:
        if a >= 1 and _has_digit(tokens[a - 1]):
            a -= 1
        if a >= 2 and tokens[a - 1] in ("/", ",") and tokens[a - 2].isdigit() and len(tokens[a - 2]) <= 5:
            a -= 2
        if b + 2 < len(tokens) and tokens[b + 1] == "/" and _has_digit(tokens[b + 2]):
            b += 2
        if out and all(t in _JOINERS for t in tokens[out[-1][1] + 1 : a]):
            a = out.pop()[0]
        out.append((a, b))
    return out


def _has_digit(token: str) -> bool:
    return _DIGIT.search(token) is not None


def _trim(tokens: list[str], a: int, b: int) -> tuple[int, int] | None:
    """Drop punctuation and line breaks from both ends of a run (a name's final "J." keeps its dot)."""
    while a <= b and not tokens[a][0].isalnum():
        a += 1
    while b >= a and not tokens[b][0].isalnum():
        if tokens[b] == "." and b > a and len(tokens[b - 1]) == 1 and tokens[b - 1].isupper():
            break
        b -= 1
    return (a, b) if a <= b else None
