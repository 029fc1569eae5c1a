#!/usr/bin/env bash
# Debian packages the tests use: chromium (report check) and Slurm + munge + MariaDB
# (the local-cluster test). Idempotent; needs root; quiet unless something fails.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "install-system-deps: not root, cannot install ${need[*]}" >&2; exit 0; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ -x .ci/install-slurm.sh ] || [ -f .ci/install-slurm.sh ]; then bash .ci/install-slurm.sh; fi
