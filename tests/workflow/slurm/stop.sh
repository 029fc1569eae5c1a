#!/usr/bin/env bash
# tests/workflow/slurm/stop.sh STATE_DIR [--purge] -- stop the cluster started by
# tests/workflow/slurm/start.sh STATE_DIR.
#
# Cancels the jobs still queued or running, then stops every daemon BY PID, from the
# pid files under STATE_DIR/run (never by name): slurmd, slurmctld, slurmdbd, mariadbd,
# and munged only if start.sh started it. Each PID is checked against /proc/PID/comm
# first; SIGTERM, then SIGKILL after 30 s. --purge also deletes STATE_DIR.
# Exit status 0 unless a daemon could not be stopped.
set -uo pipefail

DIR="" PURGE=0
for a in "$@"; do
  case "$a" in --purge) PURGE=1 ;; *) DIR="$a" ;; esac
done
[ -n "$DIR" ] || { echo "usage: $0 STATE_DIR [--purge]" >&2; exit 2; }
case "$DIR" in /*) ;; *) DIR="$(pwd)/$DIR" ;; esac
export SLURM_CONF="$DIR/etc/slurm.conf"
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
RC=0

log() { printf '[slurm-stop %s] %s\n' "$(date +%T)" "$*" >&2; }
running() {  # pidfile comm
  local pid
  [ -s "$1" ] || return 1
  pid="$(cat "$1" 2>/dev/null)"; [ -n "$pid" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}
# signal all daemons first, then wait for all of them: each takes ~2 s to exit (P16),
# so stopping them in parallel is faster than one after another
PIDS=() NAMES=() FILES=()
signal() {  # pidfile comm
  if ! running "$1" "$2"; then rm -f "$1"; return 0; fi
  local pid; pid="$(cat "$1")"
  log "stopping $2 (pid $pid)"; kill "$pid" 2>/dev/null || true
  PIDS+=("$pid"); NAMES+=("$2"); FILES+=("$1")
}
reap() {
  local i pid
  for _ in $(seq 1 120); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.25
  done
  for i in "${!PIDS[@]}"; do
    pid="${PIDS[$i]}"
    if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${NAMES[$i]}" ]; then
      log "${NAMES[$i]} (pid $pid) did not exit after 30 s: SIGKILL"; kill -9 "$pid" 2>/dev/null || RC=1
    fi
    rm -f "${FILES[$i]}"
  done
  PIDS=() NAMES=() FILES=()
}

if [ -f "$SLURM_CONF" ] && running "$DIR/run/slurmctld.pid" slurmctld; then
  jobs="$(timeout 10 squeue -h -o '%A' 2>/dev/null | tr '\n' ' ')"
  if [ -n "${jobs// /}" ]; then
    log "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    timeout 10 scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 40); do [ -z "$(timeout 5 squeue -h -o '%A' 2>/dev/null)" ] && break; sleep 0.25; done
  fi
fi

# slurm daemons first (slurmctld flushes to slurmdbd, slurmdbd to MariaDB), then the DB
signal "$DIR/run/slurmd.pid" slurmd
signal "$DIR/run/slurmctld.pid" slurmctld
reap
signal "$DIR/run/slurmdbd.pid" slurmdbd
reap
signal "$DIR/run/mysql/mariadbd.pid" mariadbd
# munged: only if start.sh started it (it then copied munged's pid file here)
signal "$DIR/run/munged.pid" munged
reap

if [ "$PURGE" = 1 ]; then
  rm -rf "$DIR"
  log "purged $DIR"
fi
log "done"
exit "$RC"
