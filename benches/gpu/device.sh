#!/usr/bin/env bash
# One GPU session of issue #14, run on the lent machine from the repository root with the kit
# of benches/gpu/prepare.sh carried in target/gpu/ (see there). It decides the GPU defaults:
#   1. the cuda kernel tests (nnlab's forward convolutions equal Burn's there);
#   2. `nnlab bench --backend cuda --epoch-steps 100` with PyTorch CUDA in the same run;
#   3. the same nets with Burn's Adam (the build at BEFORE) and with Adam over all parameters at
#      once (FlatAdam, the build at FLAT): does the fused Adam win?
#   4. the CNNs under each forward convolution (NNLAB_GPU_CONV=gemm, im2col; 2. ran direct),
#      and with one validation batch of 5 000 images;
#   5. benches/stacked on cuda (stacked members against separate nets);
#   6. `nnlab plan --time all` (the whole study's expected wall time from rates measured here)
#      and, while time is left, one epoch of cnn4 at --seeds 1 and at --seeds 5 (goal 3).
# CIFAR-shaped random bytes stand in for CIFAR-10 (the work per step does not depend on the
# pixels). Steps run in that order under one deadline (BUDGET_S, default 540 s, for a call
# of 590 s); a step that would not fit is skipped and says so. Everything lands in $OUT
# (the run tool's output folder; target/gpu/out elsewhere): a log per step, steps.txt, the
# bench JSON and Markdown. A rehearsal on a CPU:
#   BACKEND=flex NETS=mlp1 CNNS=cnn3 SEEDS_NET=mlp1 NNLAB=target/release/nnlab bash benches/gpu/device.sh
set -u
cd "$(dirname "$0")/../.."
KIT=target/gpu
OUT=${OUT:-$KIT/out}
BACKEND=${BACKEND:-cuda}
NETS=${NETS:-all}
CNNS=${CNNS:-cnn3,cnn4,cnn5}
SEEDS_NET=${SEEDS_NET:-cnn4}
BUDGET_S=${BUDGET_S:-540}
DATA=${DATA:-/tmp/nnlab-random-cifar}
START=$(date +%s)
mkdir -p "$OUT" "$KIT/bin"
export CUDA_PATH=${CUDA_PATH:-/usr/local/cuda}
export LD_LIBRARY_PATH=$CUDA_PATH/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# step NAME NEEDS_S CMD...: run CMD into $OUT/NAME.log if NEEDS_S seconds are left, killed at
# the deadline; steps.txt gets one line per step (exit status and seconds).
step() {
    local name=$1 needs=$2; shift 2
    local left=$((START + BUDGET_S - $(date +%s)))
    if [ "$left" -lt "$needs" ]; then
        echo "$name: skipped, ${left}s left of the budget, it needs ~${needs}s" | tee -a "$OUT/steps.txt"
        return
    fi
    local t0=$(date +%s%N)
    timeout "$left" "$@" > "$OUT/$name.log" 2>&1
    local rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
    printf '%s: rc %s, %d.%03d s\n' "$name" "$rc" $((ms / 1000)) $((ms % 1000)) | tee -a "$OUT/steps.txt"
    tail -n 25 "$OUT/$name.log"
}
# bench NAME BINARY ARGS...: nnlab bench into $OUT/NAME/ (bench.json, bench.md).
bench() {
    local name=$1 bin=$2; shift 2
    step "$name" 30 "$bin" --quiet --backend "$BACKEND" --out "$OUT/$name" bench --epoch-steps 100 "$@"
}

for f in nnlab nnlab-burn-adam nnlab-flat-adam suite stacked; do
    if [ -f "$KIT/$f.xz" ]; then xz -dc "$KIT/$f.xz" > "$KIT/bin/$f" && chmod +x "$KIT/bin/$f"; fi
done
NNLAB=${NNLAB:-$KIT/bin/nnlab}
echo "kit: $(cat "$KIT/KIT" 2>/dev/null || echo 'no target/gpu/KIT: built before kits recorded their commit')" | tee "$OUT/kit.txt"
{ nvidia-smi 2>&1 || echo "no nvidia-smi"; } > "$OUT/nvidia-smi.txt"
head -n 12 "$OUT/nvidia-smi.txt"

python3 - "$DATA/cifar-10-batches-bin" <<'EOF'
import os, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
for name in [f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]:
    rows = bytearray(os.urandom(10000 * 3073))
    rows[::3073] = bytes(b % 10 for b in rows[::3073])  # each image's label byte
    with open(os.path.join(d, name), "wb") as f:
        f.write(rows)
print("random CIFAR-shaped data in", d)
EOF

if [ -x "$KIT/bin/suite" ]; then
    step cuda-tests 60 "$KIT/bin/suite" --test-threads 1 on_cuda
fi
# Goal 2's table: nnlab (fused Adam, direct convolution) and PyTorch CUDA, same run.
bench bench "$NNLAB" --arch "$NETS"
# The fused Adam against Burn's Adam and against FlatAdam: the builds before each, nnlab alone.
for adam in burn flat; do
    if [ -x "$KIT/bin/nnlab-$adam-adam" ]; then
        bench "bench-$adam-adam" "$KIT/bin/nnlab-$adam-adam" --arch "$NETS" --pytorch off
    fi
done
for conv in gemm im2col; do
    NNLAB_GPU_CONV=$conv bench "bench-conv-$conv" "$NNLAB" --arch "$CNNS" --pytorch off
done
# One validation forward over all 5 000 images instead of five of 1 000 (the issue's lever).
bench bench-eval5000 "$NNLAB" --arch "$CNNS" --pytorch off --eval-batch-size 5000
if [ -x "$KIT/bin/stacked" ]; then
    step stacked 90 "$KIT/bin/stacked" --bench "$BACKEND/"
fi
step plan-all 45 "$NNLAB" --quiet --backend "$BACKEND" --out "$OUT/plan" plan --time all
for seeds in 1 5; do
    step "seeds-$seeds" 60 "$NNLAB" --quiet --backend "$BACKEND" --out "$OUT/seeds-$seeds" \
        architectures --data-dir "$DATA" --arch "$SEEDS_NET" --epochs 1 --seeds "$seeds"
done

for d in "$OUT"/bench*/; do
    [ -f "$d/bench/bench.md" ] && { echo "== $d"; cat "$d/bench/bench.md"; }
done
echo "== steps"; cat "$OUT/steps.txt"
echo "total $(( $(date +%s) - START )) s"
