"""The function's code as the FDK loads it: ``python3 -m ocigate.functions /function/func.py handler``.

Everything is in the installed ``ocigate[functions]`` package (``ocigate.functions.entry``); this file only names
the entrypoint, so that the image holds no code of its own to drift from the gateway's.
"""

from ocigate.functions.entry import handler

__all__ = ["handler"]
