#!/usr/bin/env bash
# .ci/install-slurm.sh -- install what the local single-node Slurm test cluster needs
# (tests/workflow/slurm/start.sh, tests/workflow/test_slurm.py) on Debian 12 (bookworm).
#
# Idempotent: packages that are already installed are not touched, so a second run is
# a no-op that takes well under a second. Needs root (or passwordless sudo); as a normal
# user without sudo it installs nothing, says so and exits 0 (the Slurm tests then skip).
# Exits non-zero, with apt's last lines, when apt-get fails.
#
#   munge                                    authentication between the Slurm daemons
#   slurm-wlm slurmctld slurmd slurm-client  Slurm 22.05 (pulls slurm-wlm-basic-plugins,
#                                            which holds every plugin the test config uses)
#   slurmdbd mariadb-server mariadb-client   accounting, so that plain `sacct` works: the
#                                            Snakemake slurm plugin's default status command
#
# --no-install-recommends: the ~40 packages slurm-wlm only recommends (hdf5, rocm, ipmi,
# influxdb plugins ...) are not needed. Daemons are NOT started here (no systemd in CI;
# policy-rc.d usually forbids it anyway): tests/workflow/slurm/start.sh starts them by hand.
#
# Environment:
#   SLURM_ACCOUNTING=0   skip slurmdbd + MariaDB (then use --slurm-status-command squeue)
#   APT_LOG=<file>       where apt's output goes (default: a temp file, shown on failure)
set -euo pipefail

log() { printf '[install-slurm] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

PKGS=(munge slurm-wlm slurmctld slurmd slurm-client)
[ "${SLURM_ACCOUNTING:-1}" = 1 ] && PKGS+=(slurmdbd mariadb-server mariadb-client)

MISSING=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || MISSING+=("$p")
done
if [ "${#MISSING[@]}" -eq 0 ]; then
  log "already installed: ${PKGS[*]}"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script supports Debian/Ubuntu only (missing: ${MISSING[*]})"
SUDO=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    # not an apt failure: leave the machine alone and let the Slurm tests skip themselves
    # (tests/workflow/test_slurm.py needs root anyway), so `make test` still works for a normal user
    log "WARNING: not root and no passwordless sudo: not installing ${MISSING[*]}; the Slurm tests will be skipped"
    exit 0
  fi
fi

APT_LOG="${APT_LOG:-$(mktemp /tmp/install-slurm-apt.XXXXXX.log)}"
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${MISSING[@]}" >>"$APT_LOG" 2>&1
}

log "installing: ${MISSING[*]} (apt log: $APT_LOG)"
t0=$(date +%s)
if ! apt_install; then
  # the usual cause on a fresh image is an empty or stale package list
  log "apt-get install failed; running apt-get update and retrying"
  if ! "${SUDO[@]}" apt-get update -q >>"$APT_LOG" 2>&1 || ! apt_install; then
    tail -n 25 "$APT_LOG" >&2 || true
    die "apt-get could not install ${MISSING[*]} (see $APT_LOG). Without these packages the Slurm tests cannot run."
  fi
fi

# verify: the binaries the harness needs must now exist
for b in munged slurmctld slurmd sbatch sinfo; do
  command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || die "'$b' still missing after install"
done
if [ "${SLURM_ACCOUNTING:-1}" = 1 ]; then
  for b in slurmdbd mariadbd mariadb-install-db sacct; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || [ -x "/usr/bin/$b" ] || die "'$b' still missing after install"
  done
fi
log "installed in $(( $(date +%s) - t0 ))s: ${MISSING[*]}"
