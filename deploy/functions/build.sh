#!/bin/sh
# Builds the gateway's wheel into deploy/functions/wheels/, for the function's Dockerfile; run from anywhere.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
rm -rf "$here/wheels"
python3 -m pip wheel --no-deps --wheel-dir "$here/wheels" "$here/../.."
ls "$here/wheels"
