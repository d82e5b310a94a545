"""Instructions per request of the paths companies use: ``python bench/instructions.py [--requests N] [--no-streams]``.

See ``harness/instructions.py``: callgrind's counts, which a busy machine does not move.
"""

from __future__ import annotations

import argparse
import sys

from harness.instructions import count, section, valgrind_missing


def main() -> int:
    parser = argparse.ArgumentParser(description="Instructions per request (callgrind): master, team key, native.")
    parser.add_argument("--requests", type=int, default=2000, help="requests counted per variant (default 2000)")
    parser.add_argument("--no-streams", action="store_true", help="the plain body only")
    args = parser.parse_args()
    missing = valgrind_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 1
    print("\n".join(section(count(args.requests, streams=not args.no_streams))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
