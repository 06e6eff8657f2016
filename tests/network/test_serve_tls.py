"""``sekisho serve`` with ``network.tls``: HTTPS and client certificates, as an operator runs it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sekisho.testing import MockUpstream
from tests.conftest import SEKISHO_BIN, cli_env, free_port, run_sekisho
from tests.network.conftest import client_context
from tests.network.pki import Pki

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
MASTER = "sk-master-serve-tls-0123456789"


def write_config(path: Path, pki: Pki, base_url: str, **tls: Any) -> Path:
    config = {
        "providers": [{"name": "mock", "type": "openai", "base_url": base_url, "api_key": "sk-up"}],
        "models": [{"name": "gpt-4o-mini", "provider": "mock", "upstream_model": "mock-gpt"}],
        "policy": {"local_classifier": False},
        "network": {
            "client_ca_file": str(pki.ca.ca.cert_file),
            "tls": {
                "cert_file": str(pki.server.cert_file),
                "key_file": str(pki.server.key_file),
                "client_cert": "optional",
                **tls,
            },
        },
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_serve_terminates_tls_and_maps_client_certificates(
    tmp_path: Path, pki: Pki, upstream: tuple[MockUpstream, str]
) -> None:
    config = write_config(tmp_path / "sekisho.yaml", pki, upstream[1])
    port = free_port()
    env = cli_env(tmp_path / "data", SEKISHO_MASTER_KEY=MASTER)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(SEKISHO_BIN), "serve", "--config", str(config), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        anonymous = httpx.Client(base_url=url, verify=client_context(pki, None), timeout=5)
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if anonymous.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        assert "Sekisho on https://" in (tmp_path / "serve.log").read_text()
        mapped = anonymous.post(
            "/admin/v1/client-certificates",
            headers={"authorization": f"Bearer {MASTER}"},
            json={"project_id": "default", "pem": pki.client.pem},
        )
        assert mapped.status_code == 201, mapped.text
        with httpx.Client(base_url=url, verify=client_context(pki, pki.client), timeout=10) as client:
            chat = client.post(
                "/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            )
            assert chat.status_code == 200, chat.text
        with httpx.Client(base_url=url, verify=client_context(pki, pki.unmapped), timeout=10) as client:
            assert client.get("/v1/models").json()["error"]["code"] == "invalid_client_certificate"
        anonymous.close()
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_serve_explains_a_bad_tls_configuration(tmp_path: Path, pki: Pki) -> None:
    config = write_config(
        tmp_path / "bad.yaml", pki, "http://127.0.0.1:9/v1", key_file=str(pki.client.key_file)
    )
    result = run_sekisho("serve", "--config", str(config), env=cli_env(tmp_path / "data"), timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("Error: network.tls: cannot use"), result.stderr
