"""HASH_MATCH: files and images in a request checked against known-bad hash lists.

Exact matching by SHA-256 of the decoded bytes catches a file sent unchanged; PDQ (Meta's perceptual
hash, via ``pdqhash``) catches an image that was re-encoded, resized or slightly edited, within a
Hamming distance threshold (31 of 256 bits is the threshold Meta recommends). PDQ hashes are written
as 64 hex digits, most significant bit first — the form ``sekisho guard hash`` prints.

A match is reported as a finding with no text span (start = end = 0) and the guardrail's
``report`` — which list, which hash kind, the distance and the file's SHA-256 — so the gateway can
write a record for the safety team without ever storing the file.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import numpy as np

from sekisho.guardrails.base import Attachment, GuardrailResult, ScanContext
from sekisho.guardrails.config import GuardrailSettings, HashListSettings
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

TYPE = "HASH_MATCH"
log = logging.getLogger("sekisho.guardrails")


@dataclass(frozen=True, slots=True)
class HashHit:
    """What the safety team's record holds: never the file, only how it matched."""

    list_name: str
    kind: str  # "sha256" or "pdq"
    distance: int
    sha256: str
    where: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the audit record."""
        return {
            "list": self.list_name,
            "kind": self.kind,
            "distance": self.distance,
            "sha256": self.sha256,
            "where": self.where,
        }


class HashList:
    """One list: a set of SHA-256 digests and a matrix of PDQ hashes."""

    def __init__(self, settings: HashListSettings) -> None:
        self.name = settings.name
        self.threshold = settings.pdq_threshold
        self.sha256 = frozenset(_hex_lines(settings.sha256_file, 64)) if settings.sha256_file else frozenset()
        pdq = _hex_lines(settings.pdq_file, 64) if settings.pdq_file else []
        # Unpacked to one byte per bit: a distance to every listed hash is one vectorised XOR and sum.
        self.pdq = np.array([pdq_bits(h) for h in pdq], dtype=np.uint8).reshape(len(pdq), 256)

    def match(self, digest: str, bits: np.ndarray | None) -> tuple[str, int] | None:
        """("sha256", 0) or ("pdq", distance) when the file is on this list."""
        if digest in self.sha256:
            return "sha256", 0
        if bits is None or not len(self.pdq):
            return None
        distances = np.count_nonzero(self.pdq != bits, axis=1)
        best = int(distances.min())
        return ("pdq", best) if best <= self.threshold else None


def pdq_bits(hex_hash: str) -> np.ndarray:
    """256 bits (0/1, most significant first) from 64 hex digits."""
    return np.unpackbits(np.frombuffer(bytes.fromhex(hex_hash), dtype=np.uint8))


def pdq_hex(bits: np.ndarray) -> str:
    """64 hex digits from 256 bits (most significant first)."""
    return bytes(np.packbits(np.asarray(bits, dtype=np.uint8))).hex()


def image_pdq(data: bytes) -> np.ndarray | None:
    """The PDQ bits of an image, or None when ``data`` is not an image Pillow can read."""
    import pdqhash  # compiled extension: imported when the first image arrives, not at start-up
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((512, 512))  # PDQ downsamples anyway; this bounds the work per image
            pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    bits, _quality = pdqhash.compute(pixels)
    return np.asarray(bits, dtype=np.uint8)


def _hex_lines(path: Path, width: int) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read hash list {path}: {exc}") from exc
    out = []
    for number, line in enumerate(lines, 1):
        value = line.split("#", 1)[0].strip().lower()
        if not value:
            continue
        if len(value) != width or any(c not in "0123456789abcdef" for c in value):
            raise ValueError(f"{path}:{number}: expected {width} hex digits, got {value[:80]!r}")
        out.append(value)
    return out


def make_hash_match(settings: GuardrailSettings, caller: object = None) -> HashMatchGuardrail | None:
    """The hash-list guardrail, or None when no list is configured."""
    return HashMatchGuardrail(settings) if settings.hash_lists else None


class HashMatchGuardrail:
    """Every attachment of a request against every configured list."""

    name = "hash_match"
    types = frozenset({TYPE})
    fail_open = False

    def __init__(self, settings: GuardrailSettings, caller: object = None) -> None:
        self.lists = [HashList(s) for s in settings.hash_lists]

    def check(self, attachment: Attachment) -> HashHit | None:
        """The first list ``attachment`` is on, or None."""
        digest = hashlib.sha256(attachment.data).hexdigest()
        needs_pdq = attachment.media_type.startswith("image/") and any(len(h.pdq) for h in self.lists)
        bits = image_pdq(attachment.data) if needs_pdq else None
        for hash_list in self.lists:
            matched = hash_list.match(digest, bits)
            if matched is not None:
                kind, distance = matched
                return HashHit(hash_list.name, kind, distance, digest, attachment.where)
        return None

    async def scan(self, text: Text, context: ScanContext) -> GuardrailResult:
        """Findings for attachments on a list (the text itself is not looked at)."""
        if not self.lists or not context.attachments:
            return GuardrailResult(self.name)
        attachments = context.attachments
        # Decoding and hashing images is CPU work: keep it off the event loop.
        checked = await anyio.to_thread.run_sync(lambda: [self.check(a) for a in attachments])
        hits = [hit for hit in checked if hit is not None]
        findings = [
            Finding(TYPE, 0, 0, 1.0 - hit.distance / 256, f"hash_match:{hit.list_name}:{hit.kind}")
            for hit in hits
        ]
        return GuardrailResult(
            self.name, findings, "flag" if hits else "pass", report=[h.as_dict() for h in hits]
        )
