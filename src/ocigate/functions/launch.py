"""The function's process: the FDK's own launcher (``/python/bin/fdk <func.py> <entrypoint>``), made to work
beside uvloop.

The FDK switches asyncio to uvloop's event loop policy when uvloop is importable (``fdk.async_http.protocol``),
and the gateway depends on uvloop; the FDK's ``handle`` then asks ``asyncio.get_event_loop()`` for the current
loop, which uvloop's policy (0.21 and later, as Python 3.12 does) refuses to create: the stock launcher exits
with "There is no current event loop". This launcher sets a uvloop loop as the current one (``fdk_api`` has put
the standard policy back), then hands over to the FDK unchanged: the same Unix socket server, the same
``InvokeContext``, the same handler loading from ``func.py``. The image's entrypoint is
``python3 -m ocigate.functions /function/func.py handler``.
"""

from __future__ import annotations

import asyncio
import os
import sys

from ocigate.functions.fdk_api import customer_code, fdk

USAGE = "usage: python -m ocigate.functions <path to func.py> [entrypoint, default handler]"


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's, as the FDK and ``ocigate serve`` would run; asyncio's where uvloop is not installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def main(argv: list[str]) -> None:
    if len(argv) < 2 or not os.path.isfile(argv[1]):
        sys.exit(USAGE if len(argv) < 2 else f"{argv[1]}: no such file\n{USAGE}")
    asyncio.set_event_loop(new_loop())  # the loop the FDK's handle() asks for
    fdk.handle(customer_code.Function(argv[1], entrypoint=argv[2] if len(argv) > 2 else "handler"))
