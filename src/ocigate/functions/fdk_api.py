"""Oracle's FDK, imported once, without what its import does to the whole process.

Importing ``fdk`` sets the root logger to DEBUG and adds a handler of its own (``fdk/log.py``): every library's
debug lines (HTTP clients, Oracle's SDK) would then go to the function's log, at a cost, and past the gateway's
redaction. It also makes uvloop's event loop policy the process's (``fdk/async_http/protocol.py``), whose
``get_child_watcher`` raises: any standard asyncio loop, in any thread, could then no longer start a subprocess
(the store's migration runs in one). This module imports the parts the gateway uses and puts both back as they
were; ``launch.py`` gives the function a uvloop loop of its own. Import the FDK from here only.
"""

from __future__ import annotations

import asyncio
import logging

_root = logging.getLogger()
_level, _handlers = _root.level, list(_root.handlers)
_policy = asyncio.get_event_loop_policy()
try:
    import fdk
    from fdk import constants, context, customer_code, response
finally:
    _root.setLevel(_level)
    _root.handlers[:] = _handlers
    asyncio.set_event_loop_policy(_policy)

__all__ = ["constants", "context", "customer_code", "fdk", "response"]
