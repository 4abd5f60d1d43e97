#!/bin/bash
# The seed's slurm_hpo.sh, made portable: no fixed port, no host-name suffix, no sleep.
# Submit from this folder:  sbatch slurm_hpo.sh
# (`pipetune slurm config.yaml --nodes 2` will render a checked version of this script.)

#SBATCH --job-name=fashion-hpo
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=8
#SBATCH --gpus-per-node=0
#SBATCH --time=00:30:00
#SBATCH --output=fashion-hpo-%j.out

set -euo pipefail

# Site set-up goes here, e.g. `module load Python` and `source .venv/bin/activate`.
: "${PIPETUNE_SETUP:=}"
if [ -n "$PIPETUNE_SETUP" ]; then eval "$PIPETUNE_SETUP"; fi

nodes=($(scontrol show hostnames "$SLURM_JOB_NODELIST"))
head_node=${nodes[0]}
head_ip=$(srun --nodes=1 --ntasks=1 -w "$head_node" hostname --ip-address | awk '{print $1}')
port=$(python -c 'import socket; s=socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
address="$head_ip:$port"
cpus=${SLURM_CPUS_PER_TASK:-1}
gpus=${SLURM_GPUS_PER_NODE:-0}

# Stop only this job's Ray: the `ray start --block` steps end their processes when killed.
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait || true; }
trap cleanup EXIT

srun --nodes=1 --ntasks=1 -w "$head_node" \
  ray start --head --node-ip-address="$head_ip" --port="$port" \
  --num-cpus="$cpus" --num-gpus="$gpus" --include-dashboard=false --block &

# Wait for the head to answer instead of sleeping a fixed time.
for attempt in $(seq 1 60); do
  if ray status --address="$address" >/dev/null 2>&1; then break; fi
  if [ "$attempt" = 60 ]; then echo "Ray head at $address did not start" >&2; exit 1; fi
  sleep 2
done

for node in "${nodes[@]:1}"; do
  srun --nodes=1 --ntasks=1 -w "$node" \
    ray start --address="$address" --num-cpus="$cpus" --num-gpus="$gpus" --block &
done

pipetune tune config.yaml --address "$address"
