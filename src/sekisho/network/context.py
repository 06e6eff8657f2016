"""The ASGI scope of the /v1 request being handled, for the gateway's Authenticate stage.

The pipeline's stages receive the call and its Authorization header, not the request; the client
address and the TLS client certificate live in the scope. ``SekishoApp`` binds the scope here for
the length of each /v1 request (uvicorn runs every request in a fresh context, and the binding is
reset afterwards for in-process clients that share one).
"""

from __future__ import annotations

from contextvars import ContextVar, Token

from starlette.types import Scope

_current: ContextVar[Scope | None] = ContextVar("sekisho_request_scope", default=None)


class request_scope:
    """Make ``scope`` the current request's scope inside the block.

    A small class rather than ``@contextmanager``: it runs on every /v1 request, and a generator
    based context manager costs several times more.
    """

    __slots__ = ("_scope", "_token")

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        self._token: Token[Scope | None] | None = None

    def __enter__(self) -> None:
        self._token = _current.set(self._scope)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None


def current_scope() -> Scope | None:
    """The scope bound by ``request_scope``, or None outside a request."""
    return _current.get()
