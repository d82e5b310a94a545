#!/usr/bin/env bash
# Makes the Containerfile's base image from Debian's own packages, for machines that cannot pull from a registry.
#
# Usage: deploy/container/base-image.sh [IMAGE_NAME]   (default: the name the Containerfile's FROM uses)
#
# The official debian:bookworm-slim image is built from the same bookworm packages (minbase variant, documentation
# and manual pages left out by dpkg); this script makes its stand-in with mmdebstrap and tags it with the exact
# name that the Containerfile's FROM line uses, so that the same Containerfile builds unchanged here and on a machine
# that can pull. Needs root, mmdebstrap and buildah (Debian's packages of those names).
set -euo pipefail
cd "$(dirname "$0")/../.."

image=${1:-$(sed -n 's/^ARG BASE_IMAGE=//p' Containerfile)}
if [ -z "$image" ]; then
  echo "base-image.sh: no ARG BASE_IMAGE= line in the Containerfile, and no image name given" >&2
  exit 2
fi
work=$(mktemp -d /tmp/ocigate-base.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The slim image's dpkg filters (no manual pages, documentation but the copyright files, or translations), and
# the apt and dpkg settings the official Debian images carry (docker-apt-speedup, docker-clean, docker-gzip-indexes,
# docker-no-languages, docker-autoremove-suggests): no fsync per file, no package caches kept.
# Merged /usr by the hook, as the official images have it, rather than by the usrmerge package (and its perl).
mmdebstrap --variant=minbase --quiet --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --dpkgopt='force-unsafe-io' \
  --aptopt='Acquire::Languages "none"' \
  --aptopt='Acquire::GzipIndexes "true"' \
  --aptopt='Dir::Cache::pkgcache ""' \
  --aptopt='Dir::Cache::srcpkgcache ""' \
  --aptopt='Apt::AutoRemove::SuggestsImportant "false"' \
  bookworm "$work/rootfs.tar" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main" \
  >"$work/mmdebstrap.log" 2>&1 || { cat "$work/mmdebstrap.log" >&2; exit 1; }

container=$(buildah from scratch)
buildah add --quiet "$container" "$work/rootfs.tar" / >/dev/null
buildah config --cmd '["bash"]' \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --label org.opencontainers.image.description="debian bookworm minbase, made by mmdebstrap (stand-in for $image)" \
  "$container"
buildah commit --quiet --rm "$container" "$image" >/dev/null
echo "base-image.sh: $image made from Debian bookworm's packages"
