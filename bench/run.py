"""ocigate's benchmark: added latency, throughput, memory and start-up time against the bundled Oracle emulator.

    python bench/run.py [--duration 10] [--quick] [--write-results] [--peers litellm] [--targets direct,ocigate]
                        [--install-peers]
                        [--ready-spawns 3] [--ocigate-env KEY=VALUE] [--wait-quiet 30] [--py-spy]

Targets, each measured in one run on this machine: ``direct`` (wrk straight to the emulator), ``bare`` (a
pass-through proxy, the floor of a Python gateway), ``ocigate`` (chat completions, and the Responses API over
Chat Completions, with its dispatcher also timed in-process), ``ocigate-native`` (the same through a ``type: oci``
provider: Oracle's native chat API, translated and signed, with its translation and signing also timed
in-process), ``ocigate-gov-off``, ``ocigate-gov-on`` and ``ocigate-gov-redis`` (without usage recording, then with
a virtual key whose limits are all set, in memory and in Redis: what keys, limits and usage cost),
``ocigate-routed`` (a configured route of two deployments) and, with ``--peers litellm`` when it is importable,
LiteLLM. The proxy under test runs on core 0 (one worker); the emulator, wrk and the harness
share core 1. The code is in ``bench/harness/``; see bench/README.md for what each figure means and the caveats.
"""

from __future__ import annotations

import sys

from harness.cli import main

if __name__ == "__main__":
    sys.exit(main())
