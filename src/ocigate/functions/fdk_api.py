"""Oracle's FDK, imported once, without what its import does to the process's logging.

Importing ``fdk`` sets the root logger to DEBUG and adds a handler of its own (``fdk/log.py``): every library's
debug lines (HTTP clients, Oracle's SDK) would then go to the function's log, at a cost, and past the gateway's
redaction. This module imports the parts the gateway uses and puts the root logger back as it was; the
gateway's own lines keep their redacting handler (``core/logs.py``). Import the FDK from here only.
"""

from __future__ import annotations

import logging

_root = logging.getLogger()
_level, _handlers = _root.level, list(_root.handlers)
try:
    import fdk
    from fdk import constants, context, customer_code, response
finally:
    _root.setLevel(_level)
    _root.handlers[:] = _handlers

__all__ = ["constants", "context", "customer_code", "fdk", "response"]
