"""``python -m ocigate.functions /function/func.py handler``: the function image's entrypoint (launch.py)."""

import sys

from ocigate.functions.launch import main

main(sys.argv)
