"""Mapping enforcement and identity failures to OpenAI-format errors (shared by both route sets)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio

from sekisho.enforcement.models import Forbidden
from sekisho.gateway.errors import GatewayError, forbidden
from sekisho.identity.authenticate import AuthError
from sekisho.identity.store import Conflict, NotFound

T = TypeVar("T")


def auth_failure(exc: AuthError) -> GatewayError:
    """The response for an AuthError: 401, or 403 ``key_suspended`` for a suspended key.

    The lead's ``stages.Authenticate`` and ``admin.deps.principal_of`` use this too, so a suspended
    key gets the same 403 everywhere.
    """
    return GatewayError(exc.status, str(exc), type=exc.type, code=exc.code)


def mapped(fn: Callable[[], T]) -> T:
    """Run a service call, turning its exceptions into HTTP errors (another org's ids → 404)."""
    try:
        return fn()
    except NotFound as exc:
        raise GatewayError(404, str(exc), code="not_found") from None
    except Conflict as exc:
        raise GatewayError(409, str(exc), code="conflict") from None
    except Forbidden as exc:
        raise forbidden(str(exc), code="self_decision") from None
    except ValueError as exc:
        raise GatewayError(400, str(exc), code="invalid_value") from None


async def off_loop(fn: Callable[[], T]) -> T:
    """``mapped`` in a worker thread: the service talks to the database synchronously."""
    return await anyio.to_thread.run_sync(mapped, fn)
