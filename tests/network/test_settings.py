"""Network settings: mistakes are reported at start-up with the key that is wrong."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sekisho.app import build_app
from sekisho.network import uvicorn_tls_options
from sekisho.settings import ConfigError, Settings
from tests.network.pki import Pki


@pytest.mark.parametrize(
    ("network", "fragment"),
    [
        ({"trusted_proxies": ["10.0.0.0/33"]}, "trusted_proxies"),
        ({"trusted_proxies": ["proxy.internal"]}, "not an IP address or CIDR"),
        ({"client_cert_header": "X-SSL-Client-Cert", "trusted_proxies": ["10.0.0.1"]}, "client_ca_file"),
        ({"client_cert_header": "X-SSL-Client-Cert", "client_ca_file": "/ca.pem"}, "trusted_proxies"),
        ({"dns_nameservers": ["dns.google"]}, "IP address"),
        ({"dns_nameservers": ["10.0.0.53:99999"]}, "port"),
        ({"tls": {"cert_file": "/x.pem"}}, "key_file"),
        ({"tls": {"cert_file": "/x", "key_file": "/y", "client_cert": "sometimes"}}, "client_cert"),
        ({"trusted_proxy": ["10.0.0.1"]}, "trusted_proxy"),
    ],
)
def test_bad_settings_name_the_key(
    make_settings: Callable[..., Settings], network: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ConfigError, match="network") as info:
        make_settings({"network": network})
    assert fragment in str(info.value)


def test_a_missing_client_ca_file_stops_the_app_from_starting(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings({"network": {"client_ca_file": str(tmp_path / "nope.pem")}})
    with pytest.raises(ConfigError, match="client_ca_file"):
        build_app(settings)
    (tmp_path / "empty.pem").write_text("no certificates here")
    with pytest.raises(ConfigError, match="holds no PEM certificate"):
        build_app(make_settings({"network": {"client_ca_file": str(tmp_path / "empty.pem")}}))


def test_uvicorn_options(make_settings: Callable[..., Settings], pki: Pki) -> None:
    tls = {"cert_file": str(pki.server.cert_file), "key_file": str(pki.server.key_file)}
    assert uvicorn_tls_options(make_settings({}).network) == {}
    # Without a client CA no certificate is asked for, whatever client_cert says.
    plain = uvicorn_tls_options(make_settings({"network": {"tls": tls}}).network)
    assert plain == {"ssl_certfile": tls["cert_file"], "ssl_keyfile": tls["key_file"]}
    mtls = make_settings(
        {"network": {"tls": {**tls, "client_cert": "required"}, "client_ca_file": str(pki.ca.ca.cert_file)}}
    )
    options = uvicorn_tls_options(mtls.network, http="h11")
    assert options["ssl_ca_certs"] == str(pki.ca.ca.cert_file)
    assert options["ssl_cert_reqs"] == 2  # ssl.CERT_REQUIRED
    assert options["http"] == "sekisho.network.tls:TlsH11Protocol"
    # A key that does not belong to the certificate is caught before the server starts.
    wrong = make_settings({"network": {"tls": {**tls, "key_file": str(pki.client.key_file)}}})
    with pytest.raises(ConfigError, match=r"network\.tls"):
        uvicorn_tls_options(wrong.network)
