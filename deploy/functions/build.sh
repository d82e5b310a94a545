#!/bin/sh
# Builds the gateway's wheel into deploy/functions/wheels/, for the function's Dockerfile; run from anywhere.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
had_build=no
[ -e "$root/build" ] && had_build=yes
rm -rf "$here/wheels"
python3 -m pip wheel --quiet --no-deps --wheel-dir "$here/wheels" "$root"
[ "$had_build" = yes ] || rm -rf "$root/build"   # setuptools' work folder, unless it was there before
ls "$here/wheels"
