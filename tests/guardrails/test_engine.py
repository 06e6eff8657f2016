"""The engine: segments, failures that fail closed, blocklists, hash lists and streamed answers."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sekisho.guardrails.base import Attachment, GuardrailResult, ScanContext
from sekisho.guardrails.blocklist import BlocklistGuardrail
from sekisho.guardrails.config import GuardrailSettings
from sekisho.guardrails.detectors.set import DetectorSet
from sekisho.guardrails.engine import GuardrailEngine, Segment
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.hash_match import HashMatchGuardrail, image_pdq, pdq_hex
from sekisho.guardrails.stream import OutputBlocked, StreamGuard
from sekisho.guardrails.text import Text

pytestmark = pytest.mark.anyio


class Digits:
    """A tiny detector: runs of 6+ digits (after NFKC) are TEST_NUMBER."""

    name = "digits"
    types = frozenset({"TEST_NUMBER"})

    def detect(self, text: Text) -> list[Finding]:
        return [
            text.finding("TEST_NUMBER", *m.span(), 0.9, self.name) for m in re.finditer(r"\d{6,}", text.norm)
        ]


class Broken:
    name = "broken"
    types = frozenset({"BROKEN"})

    def __init__(self, fail_open: bool = False) -> None:
        self.fail_open = fail_open

    def detect(self, text: Text) -> list[Finding]:
        raise RuntimeError("detector bug")


class BrokenGuardrail:
    name = "broken_guardrail"
    types = frozenset({"BROKEN"})
    fail_open = False

    async def scan(self, text: Text, context: ScanContext) -> GuardrailResult:
        raise TimeoutError("judge unreachable")


def _engine(
    settings: GuardrailSettings, *detectors: object, guardrails: tuple[object, ...] = ()
) -> GuardrailEngine:
    return GuardrailEngine(settings, DetectorSet(list(detectors)), list(guardrails))  # type: ignore[arg-type]


async def test_findings_are_placed_in_their_segment_with_local_offsets() -> None:
    settings = GuardrailSettings(actions={"TEST_NUMBER": "redact"})
    engine = _engine(settings, Digits())
    segments = [
        Segment("messages[0].content", "no numbers"),
        Segment("messages[1].content", "id １２３４５６７ ok"),
    ]
    report = await engine.scan(segments, ScanContext(), engine.rules(None, None))
    [located] = report.located
    assert located.where == "messages[1].content" and located.segment == 1
    assert segments[1].text[located.finding.start : located.finding.end] == "１２３４５６７"
    assert report.decision == "redact"


@pytest.mark.parametrize("fail_open", [False, True])
async def test_a_detector_that_raises_fails_closed_unless_it_says_otherwise(fail_open: bool) -> None:
    engine = _engine(GuardrailSettings(), Broken(fail_open=fail_open), Digits())
    report = await engine.scan([Segment("text", "123456789")], ScanContext(), engine.rules(None, None))
    assert report.failures == ([] if fail_open else ["broken"])
    assert report.decision == ("warn" if fail_open else "block")
    assert [loc.finding.type for loc in report.located] == ["TEST_NUMBER"]  # the others still ran


async def test_an_async_guardrail_that_raises_blocks() -> None:
    engine = _engine(GuardrailSettings(), Digits(), guardrails=(BrokenGuardrail(),))
    report = await engine.scan([Segment("text", "hello")], ScanContext(), engine.rules(None, None))
    assert report.failures == ["broken_guardrail"] and report.decision == "block"


async def test_disabled_checks_do_not_run() -> None:
    settings = GuardrailSettings(overrides={"acme": {"disabled": ["broken"]}})
    engine = _engine(settings, Broken(), Digits())
    report = await engine.scan([Segment("text", "x")], ScanContext(org="acme"), engine.rules("acme", None))
    assert report.failures == [] and report.checks == ["digits"]


async def test_large_input_is_scanned_off_the_event_loop_with_right_offsets() -> None:
    engine = _engine(GuardrailSettings(), Digits())
    big = "あ" * 300_000 + "９８７６５４３２１"
    report = await engine.scan([Segment("text", big)], ScanContext(), engine.rules(None, None))
    [located] = report.located
    assert big[located.finding.start : located.finding.end] == "９８７６５４３２１"


async def test_blocklist_matches_after_japanese_normalisation(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("# comments are skipped\nプロジェクトX\n", encoding="utf-8")
    settings = GuardrailSettings(
        blocklists=[{"words": ["パスワード", "ass"], "patterns": [r"機密\s*区分\s*[ABC]"], "file": words}],
        overrides={"acme": {"blocklists": [{"name": "acme", "words": ["confidential"]}]}},
    )
    guard = BlocklistGuardrail(settings)
    text = Text("ﾊﾟｽﾜｰﾄﾞ と ぱすわーど、class で 機密 区分 A の ﾌﾟﾛｼﾞｪｸﾄＸ, CONFIDENTIAL")
    found = (await guard.scan(text, ScanContext())).findings
    values = sorted(text.original[f.start : f.end] for f in found)
    assert values == sorted(["ﾊﾟｽﾜｰﾄﾞ", "ぱすわーど", "機密 区分 A", "ﾌﾟﾛｼﾞｪｸﾄＸ"])
    scoped = (await guard.scan(text, ScanContext(org="acme"))).findings
    assert "CONFIDENTIAL" in {text.original[f.start : f.end] for f in scoped}


def test_a_bad_blocklist_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid pattern"):
        BlocklistGuardrail(GuardrailSettings(blocklists=[{"patterns": ["(unclosed"]}]))
    with pytest.raises(ValueError, match="cannot read"):
        BlocklistGuardrail(GuardrailSettings(blocklists=[{"file": tmp_path / "missing.txt"}]))


def _png(seed: int, size: int = 256, quality_shift: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).resize((size, size))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 60 + quality_shift, 60), fill=(255, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def test_hash_lists_match_exact_files_and_edited_images(tmp_path: Path) -> None:
    known, other = _png(1), _png(2)
    edited = Image.open(io.BytesIO(known)).resize((200, 200))  # re-encoded and resized: new bytes
    buffer = io.BytesIO()
    edited.convert("RGB").save(buffer, format="JPEG", quality=80)
    sha_file = tmp_path / "sha.txt"
    sha_file.write_text(hashlib.sha256(b"%PDF-1.4 leaked").hexdigest() + "  # a leaked file\n")
    pdq_file = tmp_path / "pdq.txt"
    bits = image_pdq(known)
    assert bits is not None
    pdq_file.write_text(pdq_hex(bits) + "\n")
    guard = HashMatchGuardrail(
        GuardrailSettings(hash_lists=[{"name": "ncmec", "sha256_file": sha_file, "pdq_file": pdq_file}])
    )

    async def hits(data: bytes, media_type: str) -> list[dict[str, object]]:
        context = ScanContext(attachments=(Attachment(data, media_type, "messages[0].content[1]"),))
        result = await guard.scan(Text(""), context)
        assert (result.verdict == "flag") == bool(result.report)
        return result.report

    [exact] = await hits(b"%PDF-1.4 leaked", "application/pdf")
    assert exact["kind"] == "sha256" and exact["list"] == "ncmec"
    [near] = await hits(buffer.getvalue(), "image/jpeg")
    assert near["kind"] == "pdq" and isinstance(near["distance"], int) and near["distance"] <= 31
    assert await hits(other, "image/png") == []
    assert await hits(b"not an image at all", "image/png") == []


def test_a_malformed_hash_list_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "pdq.txt"
    bad.write_text("ab" * 32 + "\nnot-hex\n")
    with pytest.raises(ValueError, match=r"pdq.txt:2"):
        HashMatchGuardrail(GuardrailSettings(hash_lists=[{"pdq_file": bad}]))


async def _stream(guard: StreamGuard, pieces: list[str]) -> str:
    out = [await guard.feed(piece) for piece in pieces]
    return "".join(out) + await guard.flush()


async def test_a_value_split_across_chunks_is_redacted_in_a_stream() -> None:
    settings = GuardrailSettings(output_actions={"TEST_NUMBER": "redact"})
    engine = _engine(settings, Digits())
    answer = "Your number is 1234567890, and the rest of the answer is long enough to flush. " * 3
    pieces = [answer[i : i + 3] for i in range(0, len(answer), 3)]
    guard = StreamGuard(
        engine,
        engine.rules(None, None),
        ScanContext(direction="output"),
        hold=16,
        pseudonymizer=None,
        restore=False,
    )
    shown = await _stream(guard, pieces)
    assert "1234567890" not in shown and "123" not in shown.replace("[TEST_NUMBER_1]", "")
    assert shown == answer.replace("1234567890", "[TEST_NUMBER_1]")
    assert [f.type for f in guard.findings] == ["TEST_NUMBER"] * 3


async def test_a_blocked_value_stops_the_stream_before_it_is_shown() -> None:
    settings = GuardrailSettings(output_actions={"TEST_NUMBER": "block"})
    engine = _engine(settings, Digits())
    answer = "A harmless start that goes on for a while. Then 99887766554433 appears."
    guard = StreamGuard(
        engine,
        engine.rules(None, None),
        ScanContext(direction="output"),
        hold=16,
        pseudonymizer=None,
        restore=False,
    )
    shown = []
    with pytest.raises(OutputBlocked) as blocked:
        for i in range(0, len(answer), 2):
            shown.append(await guard.feed(answer[i : i + 2]))
        await guard.flush()
    assert blocked.value.types == ["TEST_NUMBER"]
    assert "99887" not in "".join(shown)


class Counting(Digits):
    def __init__(self) -> None:
        self.calls = 0

    def detect(self, text: Text) -> list[Finding]:
        self.calls += 1
        return super().detect(text)


async def test_a_resent_history_is_not_scanned_again() -> None:
    detector = Counting()
    engine = _engine(GuardrailSettings(), detector)
    rules = engine.rules(None, None)
    history = [Segment("messages[0].content", "my id is 123456789"), Segment("messages[1].content", "noted")]
    first = await engine.scan(history, ScanContext(), rules)
    turn = [*history, Segment("messages[2].content", "and 5555555 too")]
    second = await engine.scan(turn, ScanContext(), rules)
    assert detector.calls == 3  # two texts, then only the new one
    assert [loc.where for loc in second.located] == ["messages[0].content", "messages[2].content"]
    assert first.located[0] == second.located[0]
    await engine.scan([Segment("answer", "window 1234567")], ScanContext(), rules, remember=False)
    await engine.scan([Segment("answer", "window 1234567")], ScanContext(), rules, remember=False)
    assert detector.calls == 5


async def test_the_cache_can_be_turned_off() -> None:
    detector = Counting()
    engine = _engine(GuardrailSettings(cache_entries=0), detector)
    for _ in range(2):
        await engine.scan([Segment("x", "123456789")], ScanContext(), engine.rules(None, None))
    assert detector.calls == 2
