"""What tracing costs a request: ``python bench/tracing.py [--quick] [--wait-quiet SECONDS]``.

See ``harness/tracing_cost.py``.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from harness.layout import OUT
from harness.tracing_cost import in_process, measure, section


def main() -> int:
    parser = argparse.ArgumentParser(description="Tracing off and on, interleaved: requests/s and CPU per request.")
    parser.add_argument("--quick", action="store_true", help="one round of 2 s per load (CI)")
    quiet = "before each round, wait up to this long for other processes to go quiet (0: never)"
    parser.add_argument("--wait-quiet", type=float, default=30.0, metavar="SECONDS", help=quiet)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    result = measure(args.quick, 0.0 if args.quick else args.wait_quiet)
    print("\n".join(section(result)))
    print("\n".join(in_process(1000 if args.quick else 4000)))
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
