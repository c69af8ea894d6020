#!/usr/bin/env bash
# How docs/report/ was made: the full homework protocol on the developers' CIFAR-10
# reconstruction, one study at a time, into this directory. Every finished run is its own
# result file and an interrupted CIFAR-10 run resumes from its last epoch checkpoint, so the
# script can be stopped and started again at any point; it redoes nothing that is done.
#   NNLAB=target/release/nnlab DATA=target/cifar bash docs/report/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
NNLAB=${NNLAB:-target/release/nnlab}
DATA=${DATA:-$HOME/.cache/nnlab}
OUT=docs/report
log() { echo "== $(date -u +%FT%TZ) $*"; }
# A study on the flex backend; `nnlab report` trains nothing and takes no --backend.
run() { log "nnlab $*"; "$NNLAB" --quiet --backend flex --out "$OUT" "$@"; }
run activations
run conv
run xor --seeds 10
run architectures --data-dir "$DATA" --seeds 3
run activation-gradients --data-dir "$DATA"
run activation-gradients --data-dir "$DATA" --input-range 255
run learning-rate --data-dir "$DATA"
log "nnlab report"; "$NNLAB" --quiet --out "$OUT" report
log done
