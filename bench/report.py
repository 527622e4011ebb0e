"""Writes one section of docs/benchmarks.md, keeping the others."""

from __future__ import annotations

import platform
import re
import subprocess
import time
from pathlib import Path

from bench.common import ROOT

DOC = ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Measured by `make bench` (the code is in `bench/`), against the real stack on this machine. Figures from one machine
drift from run to run, so every comparison is made within one run and reported as a ratio.
Each section below is rewritten by the benchmark that owns it.
"""


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{cpu}, {cores} cores, Python {platform.python_version()}"


def write_section(key: str, title: str, lines: list[str]) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else HEADER
    stamp = time.strftime("%Y-%m-%d")
    body = "\n".join([f"## {title}", "", f"_{stamp}, {_machine()}._", "", *lines])
    block = f"<!-- {key}:start -->\n{body}\n<!-- {key}:end -->"
    pattern = re.compile(rf"<!-- {re.escape(key)}:start -->.*?<!-- {re.escape(key)}:end -->", re.DOTALL)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else f"{text.rstrip()}\n\n{block}\n"
    DOC.write_text(text)
