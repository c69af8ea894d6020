#!/usr/bin/env bash
# Queues N shards of `nnlab all` as a Slurm array, then `nnlab report` once all of them
# have succeeded:  ./submit-slurm.sh 4
# Environment (passed on to the tasks): NNLAB_OUT, NNLAB_DATA_DIR, NNLAB_ARGS, NNLAB.
set -euo pipefail
N=${1:-4}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${NNLAB_OUT:-/shared/nnlab-out}
array=$(sbatch --parsable --export=ALL --array="0-$((N - 1))" "$HERE/slurm-array.sh")
sbatch --parsable --export=ALL --job-name=nnlab-report --dependency="afterok:${array}" \
  --output=nnlab-report-%j.log --wrap "${NNLAB:-nnlab} --out '$OUT' report"
echo "queued shards ${array}_[0-$((N - 1))] and the report after them; results in $OUT"
