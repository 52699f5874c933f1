"""Run the installed `tandem` console script in a subprocess with a clean, explicit environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TANDEM = str(Path(sys.executable).with_name("tandem"))


def tandem_env(**settings: str) -> dict[str, str]:
    """Only PATH and what the test sets: nothing leaks in from the developer's shell or a .env file."""
    return {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **settings}


def run_tandem(*args: str, cwd: Path, timeout: float = 120, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TANDEM, *args], cwd=cwd, env=tandem_env(**settings), capture_output=True, text=True, timeout=timeout
    )


def start_tandem(*args: str, cwd: Path, **settings: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TANDEM, *args],
        cwd=cwd,
        env=tandem_env(**settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
