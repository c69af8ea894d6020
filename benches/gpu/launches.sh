#!/usr/bin/env bash
# GPU kernel launches per training step, counted without a GPU: runs `nnlab bench` on wgpu
# (Mesa's software Vulkan driver, lavapipe, works) with CubeCL's kernel log on, then counts
# the kernels of one steady-state step, by kind. These nets' GPU steps are bound by launches,
# not arithmetic (docs/PERFORMANCE.md), so the count is a lever that can be measured here;
# the time it buys must still be measured on a GPU.
#   bash benches/gpu/launches.sh [NNLAB] [ARCH]    (defaults: target/release/nnlab, cnn4)
# NNLAB must be built with --features wgpu. A step is found as the period between the starts
# of the last two runs of the optimiser's kernels (AdamAllKernel; AdamKernel in builds from before
# it, Burn's SliceAssignKernel in builds from before the fused Adam).
set -euo pipefail
NNLAB=$(realpath "${1:-target/release/nnlab}")
ARCH=${2:-cnn4}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/cubecl.toml" <<EOF
[profiling.logger]
level = "minimal"
file = "$dir/kernels.log"
append = false
EOF
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$dir}
(cd "$dir" && "$NNLAB" --quiet --backend wgpu --out "$dir/out" bench --arch "$ARCH" --no-epoch \
    --warmup 1 --iters 12 --val-iters 1 --val-images 100 --pytorch off > /dev/null)
# One kernel kind per line: its name and first generic argument.
sed 's/^Executing //; s/ | WgpuRuntime$//' "$dir/kernels.log" | awk -F' [|] ' '{print $1 ($2 == "" ? "" : " " $2)}' > "$dir/kinds"
marker=AdamAllKernel
grep -q "^$marker" "$dir/kinds" || marker=AdamKernel
grep -q "^$marker" "$dir/kinds" || marker=SliceAssignKernel
# Starts of the optimiser's runs of kernels; the step between the last two (steady state:
# the first step also fills the moments with zeros between its updates).
starts=$(grep -n "^$marker" "$dir/kinds" | cut -d: -f1 | awk 'NR == 1 || $1 - prev > 1 {print} {prev = $1}')
from=$(echo "$starts" | tail -n 2 | head -n 1)
to=$(echo "$starts" | tail -n 1)
[ "$(echo "$starts" | wc -l)" -ge 5 ] || { echo "fewer than five optimiser steps in the kernel log" >&2; exit 1; }
echo "$ARCH: $((to - from)) kernel launches per training step on wgpu ($NNLAB)"
sed -n "${from},$((to - 1))p" "$dir/kinds" | sort | uniq -c | sort -rn
