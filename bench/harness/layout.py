"""Where the benchmark's files go and which core runs what."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
OUT = BENCH / "out"
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = OUT / "results.json"

HOST = "127.0.0.1"
# The proxy under test runs alone on PROXY_CORE; the emulator, wrk and the harness itself share LOAD_CORE.
PROXY_CORE = 0
LOAD_CORE = 1


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
