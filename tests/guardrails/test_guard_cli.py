"""``sekisho guard scan`` and ``sekisho guard hash`` as an operator runs them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import cli_env, run_sekisho

CONFIG = "guardrails:\n  detectors: [email, my_number, secret]\n"


def _config(tmp_path: Path) -> str:
    path = tmp_path / "sekisho.yaml"
    path.write_text(CONFIG)
    return str(path)


def test_scan_text_prints_a_table_and_exits_zero_when_nothing_stops_it(tmp_path: Path) -> None:
    result = run_sekisho(
        "guard",
        "scan",
        "--config",
        _config(tmp_path),
        "番号 1234 5678 9018 と taro@example.co.jp",
        env=cli_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["TYPE", "ACTION", "START", "END"]
    assert any(
        line.startswith("MY_NUMBER") and "redact" in line and "1234 5678 9018" in line for line in lines
    )
    assert lines[-1] == "verdict: redact"


def test_scan_stdin_as_json_exits_one_on_block(tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import SEKISHO_BIN

    secret = "ghp_" + "a1B2c3D4e5" * 3 + "abcdef"
    result = subprocess.run(
        [str(SEKISHO_BIN), "guard", "scan", "--config", _config(tmp_path), "--json"],
        input=f"token: {secret}\n",
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    body = json.loads(result.stdout)
    assert body["verdict"] == "block" and body["findings"][0]["type"] == "SECRET"


def test_scan_file_and_bad_input_are_readable(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    sample = tmp_path / "mail.txt"
    sample.write_text("Reply to hanako@example.com", encoding="utf-8")
    ok = run_sekisho("guard", "scan", "--config", _config(tmp_path), "--file", str(sample), env=env)
    assert ok.returncode == 0 and "EMAIL" in ok.stdout
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    bad = run_sekisho("guard", "scan", "--config", _config(tmp_path), "--file", str(binary), env=env)
    assert bad.returncode != 0 and "not UTF-8" in bad.stderr and "Traceback" not in bad.stderr
    unknown = run_sekisho(
        "guard", "scan", "--config", _config(tmp_path), "--guardrails", "nope", "x", env=env
    )
    assert unknown.returncode != 0 and "unknown guardrail 'nope'" in unknown.stderr


def test_hash_prints_sha256_and_pdq_lines(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    buffer = io.BytesIO()
    Image.fromarray(np.arange(64 * 64 * 3, dtype=np.uint8).reshape(64, 64, 3)).save(buffer, format="PNG")
    image.write_bytes(buffer.getvalue())
    text = tmp_path / "b.txt"
    text.write_text("plain")
    result = run_sekisho("guard", "hash", str(image), str(text), env=cli_env(tmp_path))
    assert result.returncode == 0, result.stderr
    kinds = [line.split()[0] for line in result.stdout.splitlines()]
    assert kinds == ["sha256", "pdq", "sha256"]
    assert all(len(line.split()[1]) == 64 for line in result.stdout.splitlines())
