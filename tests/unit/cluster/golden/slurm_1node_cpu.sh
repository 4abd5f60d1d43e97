#!/bin/bash
# A Ray cluster over this Slurm allocation, running one pipetune experiment.
# Rendered by pipetune slurm; submit it with sbatch.
# Ray uses 1 CPU(s) on each of the 1 node(s): all the
# trials get (slurm.cpus_per_task or --cpus-per-task; it defaults to 1 CPU per node).
# Experiment folder: /project/runs/fashion-hpo
# When it holds an earlier run's Tune state (this job requeued, a resubmission, or
# any experiment of that name, finished ones too), the job resumes it instead of
# starting anew; a finished one runs nothing. Pick another --name to start afresh.
#SBATCH --job-name=fashion-hpo
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=1
#SBATCH --time=01:00:00
#SBATCH --output=/project/runs/fashion-hpo/slurm-%j.out

set -euo pipefail

# --- settings (rendered by pipetune slurm; every value is shell-quoted) ---
CONFIG=/project/configs/fashion.yaml
WORKDIR=/project
STORAGE_PATH=/project/runs
EXPERIMENT_NAME=fashion-hpo
EXPERIMENT_DIR=/project/runs/fashion-hpo
CPUS_PER_TASK=1
GPUS_PER_NODE=0
REQUEUE=0
VENV=/project/.venv
SETUP=''
RAY_TEMP_DIR=''
STARTUP_TIMEOUT_S=180
STOP_TIMEOUT_S=60
# --- end of settings ---

log() { printf 'pipetune-slurm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
cd "$WORKDIR"

# -- environment -------------------------------------------------------------------------
if [ -n "$SETUP" ]; then
  set +u  # module systems and site scripts often read unset variables
  eval "$SETUP"
  set -u
fi
if [ -n "$VENV" ]; then
  [ -f "$VENV/bin/activate" ] || die "no virtual environment at $VENV (bin/activate is missing)"
  set +u
  # shellcheck disable=SC1091
  source "$VENV/bin/activate"
  set -u
fi
for tool in python3 ray pipetune srun scontrol; do
  command -v "$tool" >/dev/null || die "'$tool' is not on PATH: fix the setup lines or the venv"
done
: "${SLURM_JOB_ID:?is not set: submit this script with sbatch}"
: "${SLURM_JOB_NODELIST:?is not set: submit this script with sbatch}"
probe() { python3 -m pipetune.cluster.probe "$@"; }
ray_env=$(probe ray-env)  # pipetune's defaults for Ray, passed on to every trial
eval "$ray_env"

# -- nodes, addresses, ports and the cluster's token -------------------------------------
node_text=$(scontrol show hostnames "$SLURM_JOB_NODELIST")
mapfile -t nodes <<< "$node_text"
n_nodes=${#nodes[@]}
head_node=${nodes[0]}
[ -n "$head_node" ] || die "scontrol found no node in '$SLURM_JOB_NODELIST'"
if [ -n "${PIPETUNE_HEAD_IP:-}" ]; then
  head_ip=$PIPETUNE_HEAD_IP
else
  head_ip=$(srun --nodes=1 --ntasks=1 --nodelist="$head_node" hostname --ip-address)
  head_ip=${head_ip%% *}
fi
[ -n "$head_ip" ] || die "no IP address for $head_node: set PIPETUNE_HEAD_IP"
read -r port client_port <<< "$(probe free-ports 2)"
[ -n "${client_port:-}" ] || die "could not pick free ports (is pipetune installed?)"
address="$head_ip:$port"
cpus=${SLURM_CPUS_PER_TASK:-$CPUS_PER_TASK}
if [ -z "$RAY_TEMP_DIR" ]; then
  RAY_TEMP_DIR="/tmp/pipetune-ray-$SLURM_JOB_ID"
fi
step_options=(--ntasks=1 --cpus-per-task="$cpus" --export=ALL)
if [ "$GPUS_PER_NODE" -gt 0 ]; then
  step_options+=(--gpus-per-node="$GPUS_PER_NODE")
fi
# Token authentication with a fresh token for this job only: srun passes the environment to
# every Ray node, and the `pipetune tune` client below reads it too.
export RAY_AUTH_MODE=token
RAY_AUTH_TOKEN=$(probe new-token)
export RAY_AUTH_TOKEN

# -- stopping: only the processes this script started, on success, failure or signal ------
ray_pids=()
tune_pid=
marker="$EXPERIMENT_DIR/.slurm-check-$SLURM_JOB_ID"
stop_pids() {  # stop_pids SECONDS PID...: TERM, wait up to SECONDS, then KILL
  local limit=$1 waited=0 pid alive
  shift
  kill -TERM "$@" 2>/dev/null || true
  while [ "$waited" -lt "$limit" ]; do
    alive=0
    for pid in "$@"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    [ "$alive" = 1 ] || break
    sleep 1
    waited=$((waited + 1))
  done
  kill -KILL "$@" 2>/dev/null || true
  wait "$@" 2>/dev/null || true
}
stop_all() {
  if [ -n "$tune_pid" ]; then
    stop_pids "$STOP_TIMEOUT_S" "$tune_pid"
    tune_pid=
  fi
  if [ "${#ray_pids[@]}" -gt 0 ]; then
    log "stopping Ray (${#ray_pids[@]} node(s))"
    stop_pids "$STOP_TIMEOUT_S" "${ray_pids[@]}"
    ray_pids=()
  fi
}
on_exit() {
  local status=$?
  trap - EXIT
  trap '' INT TERM USR1  # the cleanup itself runs to its end
  set +e
  stop_all
  rm -f "$marker" "$marker".*
  exit "$status"
}
trap on_exit EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM
on_usr1() {
  log "Slurm warned of the time limit: stopping the experiment and requeueing job $SLURM_JOB_ID"
  trap '' USR1
  set +e
  if [ -n "$tune_pid" ]; then
    # Ray Tune stops on SIGUSR1 and saves the experiment; the next start resumes it.
    kill -USR1 "$tune_pid" 2>/dev/null
    for ((i = 0; i < STOP_TIMEOUT_S; i++)); do
      kill -0 "$tune_pid" 2>/dev/null || break
      sleep 1
    done
  fi
  stop_all
  scontrol requeue "$SLURM_JOB_ID" || log "scontrol requeue $SLURM_JOB_ID failed"
  exit 0
}
if [ "$REQUEUE" = 1 ]; then
  trap on_usr1 USR1
fi

# -- shared storage ----------------------------------------------------------------------
mkdir -p "$EXPERIMENT_DIR" "$RAY_TEMP_DIR"
printf '%s\n' "$SLURM_JOB_ID" > "$marker"
if [ "$n_nodes" -gt 1 ]; then
  log "checking that all $n_nodes nodes see $EXPERIMENT_DIR and can write $RAY_TEMP_DIR"
  # shellcheck disable=SC2016
  check='h=$(hostname)
test -r "$1" || { echo "$h: cannot read $1: is the folder on a shared file system?" >&2; exit 1; }
touch "$1.$SLURM_NODEID" || { echo "$h: cannot write next to $1" >&2; exit 1; }
mkdir -p "$2" && test -w "$2" || { echo "$h: cannot write the Ray temp dir $2" >&2; exit 1; }'
  srun --nodes="$n_nodes" --ntasks="$n_nodes" --ntasks-per-node=1 --export=ALL \
    bash -c "$check" check "$marker" "$RAY_TEMP_DIR" \
    || die "the storage check failed on some node (see above)"
  for ((i = 0; i < n_nodes; i++)); do
    [ -e "$marker.$i" ] || die "node $i did not write to $EXPERIMENT_DIR: is it shared?"
  done
fi
rm -f "$marker" "$marker".*

# -- Ray: the head, then one worker per other node ---------------------------------------
log "starting the Ray head on $head_node at $address (temp dir $RAY_TEMP_DIR)"
srun --nodes=1 --nodelist="$head_node" "${step_options[@]}" \
  ray start --head --block --node-ip-address="$head_ip" --port="$port" \
  --ray-client-server-port="$client_port" --num-cpus="$cpus" --num-gpus="$GPUS_PER_NODE" \
  --temp-dir="$RAY_TEMP_DIR" --include-dashboard=false --dashboard-agent-listen-port=0 \
  --disable-usage-stats &
ray_pids+=("$!")
tries=$((STARTUP_TIMEOUT_S / 2))
probe wait-head "$address" --tries "$tries" --interval 2 --pid "${ray_pids[0]}" \
  || die "the Ray head at $address did not answer within $STARTUP_TIMEOUT_S s"
for node in "${nodes[@]:1}"; do
  log "starting a Ray worker on $node"
  srun --nodes=1 --nodelist="$node" "${step_options[@]}" \
    ray start --block --address="$address" --num-cpus="$cpus" --num-gpus="$GPUS_PER_NODE" \
    --temp-dir="$RAY_TEMP_DIR" --dashboard-agent-listen-port=0 --disable-usage-stats &
  ray_pids+=("$!")
done
pid_options=()
for pid in "${ray_pids[@]}"; do
  pid_options+=(--pid "$pid")
done
probe wait-nodes "$address" "$n_nodes" --timeout "$STARTUP_TIMEOUT_S" "${pid_options[@]}" \
  || die "the Ray cluster did not reach $n_nodes node(s) within $STARTUP_TIMEOUT_S s"

# -- the experiment (resumed when a previous run of this job left Tune state) -------------
resume_status=0
probe can-resume "$EXPERIMENT_DIR" || resume_status=$?
case "$resume_status" in
  0)
    log "resuming the experiment in $EXPERIMENT_DIR"
    tune_args=(--resume "$EXPERIMENT_DIR")
    ;;
  3) tune_args=("$CONFIG" --storage-path "$STORAGE_PATH" --name "$EXPERIMENT_NAME") ;;
  *) die "could not inspect $EXPERIMENT_DIR for a previous run" ;;
esac
log "running: pipetune tune ${tune_args[*]} --address $address"
pipetune tune "${tune_args[@]}" --address "$address" &
tune_pid=$!
tune_status=0
wait "$tune_pid" || tune_status=$?
tune_pid=
log "pipetune tune finished with status $tune_status"
exit "$tune_status"
