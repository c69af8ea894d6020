#!/usr/bin/env bash
# Builds the kit for one GPU session of issue #14 (run on the development machine, which needs
# no GPU and no CUDA toolkit): into target/gpu/, stripped and xz-compressed so that it travels
# to the lent machine in one call (under 64 MiB),
#   nnlab.xz            this checkout's CLI with the cuda feature (fused Adam on the GPU backends)
#   nnlab-burn-adam.xz  the same at $BEFORE, the last commit whose GPU backends ran Burn's Adam
#   nnlab-flat-adam.xz  the same at $FLAT, the last commit whose GPU backends ran Adam over all
#                       parameters at once (FlatAdam: 42 launches of a cnn4 step; per parameter
#                       tensor: 10; this checkout: one, a few where bindings are scarce)
#   suite.xz            the integration tests (release), for the cuda kernel equality tests
#   stacked.xz          benches/stacked.rs (stacked members against separate nets)
# Then, from the repository root, one call on the device runs benches/gpu/device.sh (tracked,
# so it travels with the working tree) over the carried kit:
#   run(command: "bash benches/gpu/device.sh", carry: ["target/gpu"], timeout_s: 590)
# 33 minutes from an empty target/gpu-build on 2 cores (session 25, timed whole); the second
# build reuses the first's dependencies and rebuilds nnlab alone. target/gpu/KIT says which
# commit the kit was built from; device.sh prints it.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
KIT=$ROOT/target/gpu
BEFORE=${BEFORE:-a5defe9}
FLAT=${FLAT:-6c97149}
FEATURES=cuda
# A target directory of its own: target/release/nnlab may be in use (docs/report/run.sh), and
# the build at $BEFORE must not replace it. Both builds share their dependencies here.
export CARGO_TARGET_DIR=$ROOT/target/gpu-build
mkdir -p "$KIT"

pack() { # pack SRC NAME: strip, compress, keep in the kit
    strip -o "$KIT/$2" "$1"
    xz -T0 -6 -f "$KIT/$2"
    echo "kit: $2.xz $(du -h "$KIT/$2.xz" | cut -f1)"
}
# The executable cargo built for a target of the given kind and name (from its JSON messages).
executable() { # executable KIND NAME < cargo messages
    python3 -c '
import json, sys
kind, name = sys.argv[1], sys.argv[2]
for line in sys.stdin:
    try: m = json.loads(line)
    except ValueError: continue
    t = m.get("target", {})
    if m.get("executable") and t.get("name") == name and kind in t.get("kind", []):
        print(m["executable"])' "$1" "$2" | tail -1
}

BUILT="nnlab $(git describe --always --dirty --exclude '*') (features $FEATURES), Burn's Adam at $BEFORE, FlatAdam at $FLAT"
echo "== $(date -u +%T) $BUILT"
rm -f "$KIT/KIT"
cargo build --release --features "$FEATURES" --bin nnlab
pack "$CARGO_TARGET_DIR/release/nnlab" nnlab

echo "== $(date -u +%T) integration tests"
suite=$(cargo test --release --features "$FEATURES" --test suite --no-run --message-format=json | executable test suite)
pack "$suite" suite

echo "== $(date -u +%T) benches/stacked"
stacked=$(cargo bench --features "$FEATURES" --bench stacked --no-run --message-format=json | executable bench stacked)
pack "$stacked" stacked

echo "== $(date -u +%T) nnlab at $BEFORE (Burn's Adam on the GPU backends)"
SRC=$ROOT/target/gpu-src-before
[ -d "$SRC" ] || git worktree add --detach "$SRC" "$BEFORE"
(cd "$SRC" && cargo build --release --features "$FEATURES" --bin nnlab)
pack "$CARGO_TARGET_DIR/release/nnlab" nnlab-burn-adam

if [ "$FLAT" != none ]; then # FLAT=none leaves it out (a smaller kit, about 5 minutes less)
    echo "== $(date -u +%T) nnlab at $FLAT (Adam over all parameters at once on the GPU backends)"
    SRC_FLAT=$ROOT/target/gpu-src-flat
    [ -d "$SRC_FLAT" ] || git worktree add --detach "$SRC_FLAT" "$FLAT"
    (cd "$SRC_FLAT" && cargo build --release --features "$FEATURES" --bin nnlab)
    pack "$CARGO_TARGET_DIR/release/nnlab" nnlab-flat-adam
fi

# What travels with one run call is at most 64 MiB: if the kit is larger, the FlatAdam build
# (the least needed: its comparison is with the fused Adam that replaced it) stays behind.
size() { cat "$KIT"/*.xz | wc -c; }
if [ "$(size)" -gt $((64 * 1024 * 1024 - 1024 * 1024)) ] && [ -f "$KIT/nnlab-flat-adam.xz" ]; then
    rm "$KIT/nnlab-flat-adam.xz"
    echo "kit: over 63 MiB with nnlab-flat-adam.xz; left it out"
fi
du -ch "$KIT"/*.xz | tail -1
echo "$BUILT; built $(date -u +%FT%TZ)" > "$KIT/KIT"
echo "== $(date -u +%T) kit ready: run 'bash benches/gpu/device.sh' on the device, carrying target/gpu"
