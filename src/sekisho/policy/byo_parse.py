"""Reading a policy classifier's answer, however untidy, into one verdict.

Models asked for JSON answer with code fences, prose around the object, Python literals, single
quotes, trailing commas, an object cut off by ``max_tokens`` — or just a label ("INVALID", "SP3").
Small local models do all of these, and hosted ones some, so the parser accepts what is clear and
refuses what is not: a refusal makes the classifier ask again rather than guess a verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

UNSTATED_CONFIDENCE = 0.5
"""Confidence of an answer that gives none: neither sure nor unsure, so thresholds treat it as such."""


PLACEHOLDERS = {
    "category": "the policy's label for the content, or null",
    "rule_ids": "IDs of the policy's rules that apply",
    "rationale": "one short sentence",
}
"""The output contract's placeholder values: an answer that repeats one copied the format, not a verdict."""


class ByoParseError(ValueError):
    """The model's answer holds no verdict that can be read without guessing."""


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """What the model said, normalised; the classifier adds the model name and caching."""

    violation: bool
    category: str | None
    rule_ids: tuple[str, ...]
    confidence: float
    rationale: str


_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
# A rule ID as safeguard-style policies write them: a family and a level (SP3), a sub-rule (SP3.b),
# optionally in the depiction/request form of the label format (D-SP3, R-S2).
_RULE = re.compile(r"(?<![\w.-])(?:[DR]-)?([A-Z]{1,6})(\d{1,2})(?:\.([a-z0-9]{1,3}))?(?![\w-])")
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")
_CONFIDENCE = re.compile(r"confidence\W{0,3}(\d(?:\.\d+)?)", re.IGNORECASE)
_NONE_WORDS = frozenset({"", "none", "null", "n/a", "na", "nil", "-"})
_TRUE_WORDS = frozenset(
    {"true", "yes", "1", "invalid", "violation", "violating", "violates", "spam", "unsafe"}
)
_FALSE_WORDS = frozenset(
    {"false", "no", "0", "valid", "allowed", "ok", "safe", "none", "compliant", "no violation", "not spam"}
)
_OUTPUT_WORD = re.compile(r"\b(?:IN)?VALID\b")
_BRACED = re.compile(r"\{[^{}]*\}")
_LEVEL_WORDS = {"high": 0.9, "medium": 0.6, "moderate": 0.6, "low": 0.3}
_VIOLATION_KEYS = ("violation", "violates", "is_violation", "violating", "flagged", "unsafe")
_LABEL_KEYS = ("label", "classification", "verdict", "decision", "output", "result", "answer")
_RATIONALE_KEYS = ("rationale", "reason", "reasoning", "explanation", "justification")


def parse_answer(answer: str, *, families: frozenset[str] = frozenset()) -> ParsedAnswer:
    """The verdict in ``answer``; ByoParseError when there is none or it contradicts itself.

    ``families`` are the policy's rule families (``{"SP"}``): in a label-only answer, only IDs of
    those families count as labels, so a stray "A1" in prose is not read as a rule.
    """
    text = _THINK.sub("", answer).strip()
    if any(placeholder in text for placeholder in PLACEHOLDERS.values()):
        raise ByoParseError(f"the model copied the output format instead of answering: {text[:200]!r}")
    for obj in _objects(text):
        found = _find_verdict(obj, families)
        if found is not None:
            return found
    return _from_label(text, families)


def policy_families(policy_text: str) -> frozenset[str]:
    """Rule families a policy defines: the letters of IDs that appear with a sub-rule (``SP0.a``)."""
    return frozenset(m.group(1) for m in _RULE.finditer(policy_text) if m.group(3))


def _objects(text: str) -> list[Any]:
    """Every JSON-ish object in ``text``, outermost first, repaired where the repair is unambiguous."""
    found: list[Any] = []
    start = text.find("{")
    while start != -1:
        end = _matching_brace(text, start)
        if end != -1:
            value = _loads(text[start : end + 1])
        else:  # cut off: close it, and failing that drop the half-written last member
            tail = text[start:]
            value = _loads(_close(tail))
            if value is None and "," in tail:
                value = _loads(_close(tail[: tail.rfind(",")]))
        if isinstance(value, dict):
            found.append(value)
        if end == -1:
            break
        start = text.find("{", end + 1 if value is not None else start + 1)
    return found


def _matching_brace(text: str, start: int) -> int:
    """Index of the brace closing the one at ``start`` (strings of either quote skipped), or -1."""
    depth, quote, i = 0, "", start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _close(tail: str) -> str:
    """An object cut off mid-answer (``max_tokens``), closed: the open string, then open brackets."""
    stack: list[str] = []
    quote, i = "", 0
    while i < len(tail):
        c = tail[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "{[":
            stack.append("}" if c == "{" else "]")
        elif c in "}]" and stack:
            stack.pop()
        i += 1
    if not stack:
        return ""
    body = tail if quote else tail.rstrip().rstrip(",:")
    return body + quote + "".join(reversed(stack))


def _loads(chunk: str) -> Any:
    if not chunk:
        return None
    try:
        return orjson.loads(chunk)
    except orjson.JSONDecodeError:
        pass
    try:
        return orjson.loads(_to_json(chunk))
    except (orjson.JSONDecodeError, ValueError):
        return None


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "/": "/", "'": "'", '"': '"'}
_LITERALS = {
    "True": "true",
    "False": "false",
    "None": "null",
    "true": "true",
    "false": "false",
    "null": "null",
}


def _to_json(chunk: str) -> str:
    """Python-ish object text as JSON: quotes of either kind, True/False/None, bare keys, trailing commas."""
    out: list[str] = []
    i = 0
    while i < len(chunk):
        c = chunk[i]
        if c in "\"'":
            j, buf = i + 1, []
            while j < len(chunk) and chunk[j] != c:
                if chunk[j] == "\\" and j + 1 < len(chunk):
                    nxt = chunk[j + 1]
                    buf.append(_ESCAPES.get(nxt, "\\" + nxt))
                    j += 2
                    continue
                buf.append(chunk[j])
                j += 1
            if j >= len(chunk):
                raise ValueError("unterminated string")
            out.append(orjson.dumps("".join(buf)).decode())
            i = j + 1
        elif c == ",":
            rest = chunk[i + 1 :].lstrip()
            if not rest.startswith(("}", "]")):
                out.append(c)
            i += 1
        elif c.isalpha() or c == "_":
            word = _WORD.match(chunk, i)
            assert word is not None
            token = word.group()
            literal = _LITERALS.get(token)
            out.append(literal if literal else orjson.dumps(token).decode())
            i = word.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _find_verdict(obj: Any, families: frozenset[str]) -> ParsedAnswer | None:
    """The verdict in ``obj`` or, failing that, in an object nested in it (``{"result": {...}}``)."""
    if not isinstance(obj, dict):
        return None
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    verdict = _from_dict(lowered, families)
    if verdict is not None:
        return verdict
    for value in lowered.values():
        nested = _find_verdict(value, families)
        if nested is not None:
            return nested
    return None


def _from_dict(data: dict[str, Any], families: frozenset[str]) -> ParsedAnswer | None:
    rule_ids = _rule_ids(data.get("rule_ids", data.get("rule_id", data.get("rules"))))
    category = _category(data.get("category"))
    label = next((data[k] for k in _LABEL_KEYS if isinstance(data.get(k), str)), None)
    violation = next((_truth(data[k]) for k in _VIOLATION_KEYS if k in data), None)
    if violation is None and label is not None:
        violation = _truth(label)
        if violation is None:
            level = _level(label, families)
            violation = None if level is None else level[1] > 0
            category = category or (level[0] if level else None)
    if violation is None:
        level = _level(category or (rule_ids[0] if rule_ids else ""), families)
        if level is None:
            return None
        violation = level[1] > 0
    rationale = next((str(data[k]) for k in _RATIONALE_KEYS if data.get(k) is not None), "")
    return ParsedAnswer(violation, category, rule_ids, _confidence(data.get("confidence")), rationale.strip())


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().strip(".!").lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def _category(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return None if text.lower() in _NONE_WORDS else text


def _rule_ids(value: Any) -> tuple[str, ...]:
    items = (
        value if isinstance(value, list) else re.split(r"[,\s;]+", value) if isinstance(value, str) else []
    )
    return tuple(dict.fromkeys(s for s in (str(i).strip() for i in items) if s.lower() not in _NONE_WORDS))


def _confidence(value: Any) -> float:
    """0..1 from 0.8, "0.8", "80%", 80 or "high"; UNSTATED_CONFIDENCE when absent or unreadable."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _LEVEL_WORDS:
            return _LEVEL_WORDS[text]
        percent = text.endswith("%")
        try:
            number = float(text.rstrip("%").strip())
        except ValueError:
            return UNSTATED_CONFIDENCE
        value = number / 100 if percent else number
    if isinstance(value, bool) or not isinstance(value, int | float):
        return UNSTATED_CONFIDENCE
    if 1 < value <= 100:
        value = value / 100  # a percentage written without its sign
    return float(value) if 0 <= value <= 1 else UNSTATED_CONFIDENCE


def _level(text: str, families: frozenset[str]) -> tuple[str, int] | None:
    """``("SP3", 3)`` for the most severe rule ID in ``text``; level 0 is the policy's allowed class."""
    levels = [
        (m.group(1) + m.group(2), int(m.group(2)))
        for m in _RULE.finditer(text)
        if not families or m.group(1) in families
    ]
    return max(levels, key=lambda level: level[1]) if levels else None


def _from_label(text: str, families: frozenset[str]) -> ParsedAnswer:
    """A verdict from a label-only answer; never a guess.

    Only what a label answer is made of counts: the policy's own output words in capitals (VALID,
    INVALID), rule IDs of the policy's families, or an answer that is nothing but a yes/no word.
    Prose words such as "violation" do not: a model that parrots the output contract ("violation:
    true or false") would otherwise be read as finding one.
    """
    prose = _BRACED.sub(" ", text)  # objects that did not parse (a parroted template) say nothing
    labels = set(_OUTPUT_WORD.findall(prose))
    level = _level(prose, families)
    whole = _truth(re.sub(r"[^a-z0-9 ]", "", prose.lower()).strip())
    if len(labels) == 1:
        violation = labels == {"INVALID"}
    elif not labels and level is not None:
        violation = level[1] > 0
    elif not labels and whole is not None:
        violation = whole
    else:
        raise ByoParseError(f"no verdict in the model's answer: {text[:200]!r}")
    rule_ids = tuple(
        dict.fromkeys(
            m.group(0).split("-")[-1] for m in _RULE.finditer(prose) if not families or m.group(1) in families
        )
    )
    confidence = UNSTATED_CONFIDENCE
    if percent := _PERCENT.search(prose):
        confidence = _confidence(percent.group(0).replace(" ", ""))
    elif stated := _CONFIDENCE.search(prose):
        confidence = _confidence(stated.group(1))
    return ParsedAnswer(violation, level[0] if level else None, rule_ids, confidence, "")
