#!/usr/bin/env bash
# A one-node Slurm cluster (Debian's slurmctld, slurmd, slurm-client and
# munge) for tests and demos, everything in one scratch folder: munge's key,
# socket, pid and log, slurm.conf, state, spool, logs. Nothing is written to
# /etc; commands find the cluster through SLURM_CONF.
#
#   scripts/slurm-local.sh start [DIR]   # prints: export SLURM_CONF=DIR/slurm.conf
#   scripts/slurm-local.sh stop [DIR]    # stops exactly the daemons it started (by their pid files)
#   scripts/slurm-local.sh status [DIR]
#
# DIR defaults to $SLURM_LOCAL_DIR or /tmp/convis-slurm. start is idempotent
# (a running cluster is left as it is) and waits until the node is idle.
set -euo pipefail
cmd=${1:-}
S=${2:-${SLURM_LOCAL_DIR:-/tmp/convis-slurm}}
mkdir -p "$S"
S=$(cd "$S" && pwd)
export SLURM_CONF=$S/slurm.conf

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
pidfiles=("$S/slurmd.pid" "$S/slurmctld.pid" "$S/munge/munged.pid")

start() {
  if alive "$S/slurmctld.pid" && alive "$S/slurmd.pid" && alive "$S/munge/munged.pid"; then
    echo "export SLURM_CONF=$SLURM_CONF"
    return 0
  fi
  stop >/dev/null 2>&1 || true # a half-started cluster is restarted whole
  for t in slurmctld slurmd munged sinfo sbatch; do
    command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "slurm-local: $t is missing: apt-get install slurmctld slurmd slurm-client munge" >&2; exit 1; }
  done
  mkdir -p "$S/munge" "$S/state" "$S/spool" "$S/log"
  if [ ! -f "$S/munge/munge.key" ]; then
    dd if=/dev/urandom bs=1 count=1024 of="$S/munge/munge.key" status=none
  fi
  chmod 700 "$S/munge"; chmod 400 "$S/munge/munge.key"
  /usr/sbin/munged --force --key-file="$S/munge/munge.key" --socket="$S/munge/munge.socket" \
    --pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" --seed-file="$S/munge/munged.seed"
  local h
  h=$(hostname -s)
  cat > "$SLURM_CONF" <<EOF
ClusterName=convis
SlurmctldHost=$h
AuthType=auth/munge
AuthInfo=socket=$S/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
NodeName=$h CPUs=$(nproc) RealMemory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 2048 )) State=UNKNOWN
PartitionName=debug Nodes=$h Default=YES MaxTime=INFINITE State=UP
EOF
  /usr/sbin/slurmctld -c
  /usr/sbin/slurmd -c
  for _ in $(seq 1 60); do
    if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
      echo "export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.5
  done
  echo "slurm-local: the node did not become idle in 30 s; logs in $S/log" >&2
  sinfo >&2 || true
  exit 1
}

stop() {
  local pid pf
  for pf in "${pidfiles[@]}"; do
    if alive "$pf"; then
      pid=$(cat "$pf")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pf"
  done
  echo "slurm-local: stopped"
}

status() {
  local pf
  for pf in "${pidfiles[@]}"; do
    if alive "$pf"; then echo "running: $(basename "$pf" .pid) $(cat "$pf")"; else echo "stopped: $(basename "$pf" .pid)"; fi
  done
  alive "$S/slurmctld.pid" && sinfo || true
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status [DIR]" >&2; exit 2 ;;
esac
