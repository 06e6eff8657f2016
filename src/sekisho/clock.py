"""Time and identifiers, in one place so every record uses the same forms."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Timezone-aware current time in UTC."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A random identifier such as ``proj_5f1c0e9a2b7d4c3e``."""
    return f"{prefix}_{secrets.token_hex(8)}"


def as_utc(value: datetime) -> datetime:
    """Read back a stored time as UTC (SQLite returns naive datetimes)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
