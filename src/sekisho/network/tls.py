"""HTTPS with client certificates in ``sekisho serve``: uvicorn options and the peer certificate.

uvicorn verifies client certificates during the handshake (``ssl_ca_certs``, ``ssl_cert_reqs``)
but does not tell the application which certificate the client presented. The protocol classes
here add it to every request of the connection as the ASGI TLS extension,
``scope["extensions"]["tls"]["client_cert_chain"]`` (PEM strings, the client's certificate first).
They are named by import string in uvicorn's ``http`` option, so worker processes load them too.
"""

from __future__ import annotations

import ssl
from typing import Any

from cryptography import x509
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from sekisho.network.settings import NetworkSettings
from sekisho.settings import ConfigError

_TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any]:
    """The ASGI TLS extension for a connection whose handshake has completed."""
    chain: list[str] = []
    name: str | None = None
    der = ssl_object.getpeercert(binary_form=True)
    if der:
        # Python 3.13 can give the whole verified chain; before that only the client's certificate.
        verified = getattr(ssl_object, "get_verified_chain", None)
        certs = verified() if verified is not None else None
        if certs and all(isinstance(c, bytes) for c in certs):
            chain = [ssl.DER_cert_to_PEM_cert(c) for c in certs]
        else:
            chain = [ssl.DER_cert_to_PEM_cert(der)]
        try:
            name = x509.load_der_x509_certificate(der).subject.rfc4514_string()
        except ValueError:
            name = None
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": name,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


class _WithTls:
    """Wraps the application for one connection, adding its TLS extension to each scope."""

    __slots__ = ("_app", "_tls")

    def __init__(self, app: ASGIApp, tls: dict[str, Any]) -> None:
        self._app = app
        self._tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["extensions"] = {**(scope.get("extensions") or {}), "tls": self._tls}
        await self._app(scope, receive, send)


def _attach(protocol: Any, transport: Any) -> None:
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is not None:
        protocol.app = _WithTls(protocol.app, tls_extension(ssl_object))


class TlsHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, exposing the client certificate to the application."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        _attach(self, transport)


class TlsH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, exposing the client certificate to the application."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        _attach(self, transport)


def uvicorn_tls_options(settings: NetworkSettings, *, http: str = "httptools") -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` that serve HTTPS as configured.

    Empty when ``network.tls`` is not set. ``http`` is the protocol otherwise chosen (``httptools``
    or ``h11``; ``auto`` picks httptools when it is installed).
    """
    tls = settings.tls
    if tls is None:
        return {}
    check_tls(settings)
    options: dict[str, Any] = {"ssl_certfile": str(tls.cert_file), "ssl_keyfile": str(tls.key_file)}
    if tls.key_password:
        options["ssl_keyfile_password"] = tls.key_password
    mode = settings.client_cert_mode
    if mode != "none" and settings.client_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.client_ca_file)
        options["ssl_cert_reqs"] = _CERT_REQS[mode]
        options["http"] = f"{__name__}:{_protocol_for(http)}"
    return options


def _protocol_for(http: str) -> str:
    if http == "h11":
        return TlsH11Protocol.__name__
    if http == "auto":
        try:
            import httptools  # noqa: F401
        except ImportError:
            return TlsH11Protocol.__name__
    return TlsHttpToolsProtocol.__name__


def check_tls(settings: NetworkSettings) -> None:
    """Load the certificate, key and client CA once, so a mistake is one clear line at start-up
    (ConfigError) rather than a traceback from inside the server."""
    tls = settings.tls
    if tls is None:
        return
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file), tls.key_password)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"network.tls: cannot use {tls.cert_file} with {tls.key_file}: {exc.strerror or exc}"
        ) from None
    if settings.client_cert_mode != "none" and settings.client_ca_file is not None:
        try:
            context.load_verify_locations(str(settings.client_ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"network.client_ca_file {settings.client_ca_file}: {exc.strerror or exc}"
            ) from None
