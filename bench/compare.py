"""Interleaved throughput of gateways built from git revisions: ``python bench/compare.py OLD NEW``.

See ``harness/commits.py``.
"""

from __future__ import annotations

import sys

from harness.commits import main

if __name__ == "__main__":
    sys.exit(main())
