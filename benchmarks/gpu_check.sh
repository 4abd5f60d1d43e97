#!/usr/bin/env bash
# GPU check on a machine with one NVIDIA GPU (about 3 minutes, at most 8):
#
#     bash benchmarks/gpu_check.sh [output folder]     (default: benchmarks/results/gpu_check)
#
# 1. A 4-trial HPO of the Fashion-MNIST example (FIFO, random search, 3 epochs, 60,000
#    samples) twice: fractional GPUs (gpu: 0.25 per trial -> 4 trials at once on the GPU)
#    and one trial per GPU at a time (gpu: 1). GPU utilisation and memory are sampled every
#    second by `nvidia-smi -l 1` in the background; samples/s come from history.jsonl.
# 2. AMP: the trainer has no AMP switch, so a tiny hand-written loop (the example's SmallCNN,
#    synthetic batches) measures fp32 vs torch.autocast fp16 (with GradScaler) and bf16.
# The last line is the ratio of HPO wall times, fractional / whole GPU (below 1: packing wins).
# Environment: PYTHON (default .venv/bin/python), PIPETUNE_DATA (default ../shared/datasets
# when it exists).
set -euo pipefail

if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "gpu_check: nvidia-smi not found: this check needs a machine with an NVIDIA GPU and its driver; nothing was run" >&2
    exit 1
fi
if ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_check: nvidia-smi is installed but cannot reach a GPU (driver not loaded?); nothing was run" >&2
    exit 1
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
if [ ! -x "$PY" ]; then
    PY="$(command -v python3)"
fi
OUT_DIR="${1:-$ROOT/benchmarks/results/gpu_check}"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
if [ -z "${PIPETUNE_DATA:-}" ] && [ -d "$ROOT/../shared/datasets" ]; then
    PIPETUNE_DATA="$(cd "$ROOT/../shared/datasets" && pwd)"
    export PIPETUNE_DATA
fi

if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: torch in $PY sees no CUDA device (a CPU-only torch?); nothing was run" >&2
    exit 1
fi
if ! "$PY" -c "from pipetune.data import FashionMNIST; FashionMNIST(download=False).locate()"; then
    echo "gpu_check: no Fashion-MNIST files (set PIPETUNE_DATA); nothing was run" >&2
    exit 1
fi

SAMPLER_PID=""
stop_sampler() {
    if [ -n "$SAMPLER_PID" ]; then
        kill "$SAMPLER_PID" 2>/dev/null || true
        wait "$SAMPLER_PID" 2>/dev/null || true
        SAMPLER_PID=""
    fi
}
trap stop_sampler EXIT

start_sampler() {  # $1: label
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv -l 1 >"$OUT_DIR/nvsmi_$1.csv" &
    SAMPLER_PID=$!
}

gpu_summary() {  # $1: label -> "mean util %, max util %, max memory MiB, samples"
    awk -F', ' 'NR > 1 && $1 ~ /^[0-9]/ {
        u = $1 + 0; m = $2 + 0; n++; s += u
        if (u > umax) umax = u
        if (m > mmax) mmax = m
    } END {
        if (n == 0) { print "- - - 0"; exit }
        printf "%.0f %d %d %d\n", s / n, umax, mmax, n
    }' "$OUT_DIR/nvsmi_$1.csv"
}

echo "gpu_check: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)"
echo "gpu_check: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), python $PY"
echo "gpu_check: results in $OUT_DIR"

hpo_failed() {
    echo "gpu_check: the '$1' HPO failed or ran past its 180 s (see the output above)" >&2
    exit 1
}

run_hpo() {  # $1: label, $2: GPUs per trial
    start_sampler "$1"
    timeout 180 "$PY" - "$1" "$2" "$OUT_DIR" <<'PY' || hpo_failed "$1"
import json, os, sys, time
from pathlib import Path

import pipetune  # noqa: F401  (Ray environment defaults)
import ray
from pipetune.tune import Experiment

label, gpu, out = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
example = Path.cwd() / "examples" / "fashion-mnist"
os.chdir(example)
cpus = min(os.cpu_count() or 2, 8)
samples, epochs = 60000, 3
overrides = {
    "train_samples": samples,
    "epochs": epochs,
    "tune.num_samples": 4,
    "tune.scheduler": "fifo",
    "tune.search_alg": "random",
    "tune.seed": 0,
    "tune.stop": {"training_iteration": epochs},
    # the same 8 CPUs in both runs: 4 trials x 2 CPUs, or 1 trial x 8 CPUs
    "tune.resources_per_trial": {"cpu": max(1, int(cpus * min(gpu, 1.0))), "gpu": gpu},
    "tune.checkpoint_every": 0,
    "tune.storage_path": str(out / "runs"),
    "tune.name": f"{label}-{int(time.time())}",
}
ray.init(num_cpus=cpus, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
try:
    experiment = Experiment(str(example / "config.yaml"), overrides)
    started = time.time()
    outcome = experiment.run()
    wall = time.time() - started
finally:
    ray.shutdown()
lines = (outcome.path / "history.jsonl").read_text(encoding="utf-8").splitlines()
rows = [r for r in map(json.loads, filter(None, lines)) if "samples_per_s" in r]
train_size = round(samples * 0.9)
per_trial = sorted(r["samples_per_s"] for r in rows)
result = {
    "label": label,
    "gpu_per_trial": gpu,
    "wall_s": wall,
    "epochs": len(rows),
    "failed": outcome.failed,
    "median_trial_samples_per_s": per_trial[len(per_trial) // 2] if per_trial else 0.0,
    "aggregate_samples_per_s": len(rows) * train_size / wall,
    "best_val_loss": (outcome.best or {}).get("val_loss"),
    "load1": os.getloadavg()[0],
}
(out / f"hpo_{label}.json").write_text(json.dumps(result, indent=2))
print(
    f"gpu_check: {label}: wall {wall:.1f} s, {len(rows)} epochs, failed {outcome.failed}, "
    f"median per-trial {result['median_trial_samples_per_s']:.0f} samples/s, "
    f"aggregate {result['aggregate_samples_per_s']:.0f} samples/s"
)
PY
    stop_sampler
}

run_hpo fractional 0.25
run_hpo whole 1

echo "gpu_check: AMP micro-benchmark (SmallCNN, batch 256, synthetic data)"
timeout 90 "$PY" - "$OUT_DIR" <<'PY' || echo "gpu_check: the AMP micro-benchmark failed or ran past 90 s; going on" >&2
import json, statistics, sys, time
from pathlib import Path

import torch

sys.path.insert(0, "examples/fashion-mnist")
from model import SmallCNN  # noqa: E402

out = Path(sys.argv[1])
device = torch.device("cuda")
torch.manual_seed(0)
images = torch.randn(256, 1, 28, 28, device=device)
labels = torch.randint(0, 10, (256,), device=device)


def run(mode: str, steps: int = 300) -> float:
    model = SmallCNN().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mode)
    scaler = torch.amp.GradScaler("cuda", enabled=mode == "fp16")
    for step in range(steps + 20):
        if step == 20:  # warm-up done
            torch.cuda.synchronize()
            started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = loss_fn(model(images), labels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    torch.cuda.synchronize()
    return steps * images.shape[0] / (time.perf_counter() - started)


modes = ["fp32", "fp16", "bf16"]
results = {m: [] for m in modes}
for repeat in range(3):  # alternate the order, so drift hits all alike
    for mode in modes if repeat % 2 == 0 else modes[::-1]:
        results[mode].append(run(mode))
medians = {m: statistics.median(v) for m, v in results.items()}
(out / "amp.json").write_text(json.dumps({"runs": results, "medians": medians}, indent=2))
for mode in modes:
    print(f"gpu_check: amp {mode:<5} {medians[mode]:>12,.0f} samples/s  (x{medians[mode] / medians['fp32']:.2f} vs fp32)")
PY

echo
printf '%-12s%8s%8s%10s%12s%12s%10s%10s%12s\n' "hpo" "gpu" "wall s" "epochs" "trial smp/s" "all smp/s" "util %" "max %" "max MiB"
for label in fractional whole; do
    read -r util umax mem _ <<<"$(gpu_summary "$label")"
    "$PY" - "$OUT_DIR/hpo_$label.json" "$util" "$umax" "$mem" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{r['label']:<12}{r['gpu_per_trial']:>8g}{r['wall_s']:>8.1f}{r['epochs']:>10}"
      f"{r['median_trial_samples_per_s']:>12.0f}{r['aggregate_samples_per_s']:>12.0f}"
      f"{sys.argv[2]:>10}{sys.argv[3]:>10}{sys.argv[4]:>12}")
PY
done
echo "gpu_check: load average at end $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$OUT_DIR" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
frac = json.loads((out / "hpo_fractional.json").read_text())
whole = json.loads((out / "hpo_whole.json").read_text())
print(f"ratio HPO wall fractional (0.25 GPU, 4 at once) / whole GPU (1 at a time): "
      f"{frac['wall_s'] / whole['wall_s']:.3f} (below 1: packing trials on the GPU wins)")
PY
