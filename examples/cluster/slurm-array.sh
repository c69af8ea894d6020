#!/usr/bin/env bash
# One shard of `nnlab all` per Slurm array task, all writing into one shared directory.
# Submit with submit-slurm.sh (it also queues the report after the last shard), or alone:
#   sbatch --array=0-3 slurm-array.sh
# The shard count is the array's size: --array=0-(N-1) gives N shards, I = SLURM_ARRAY_TASK_ID.
#
#SBATCH --job-name=nnlab-shard
#SBATCH --array=0-3
#SBATCH --cpus-per-task=8
#SBATCH --gres=gpu:1
#SBATCH --time=04:00:00
#SBATCH --output=nnlab-%A_%a.log
set -euo pipefail

# Where the shards write (a file system every node mounts), where CIFAR-10 already lies
# (fetch it once beforehand, see README.md: shards should not all download it), and what
# `nnlab all` runs; the same in every task.
OUT=${NNLAB_OUT:-/shared/nnlab-out}
DATA=${NNLAB_DATA_DIR:-/shared/cifar}
ARGS=${NNLAB_ARGS:---seeds 5}
NNLAB=${NNLAB:-nnlab}

INDEX=${SLURM_ARRAY_TASK_ID:?run me as a Slurm array task (sbatch --array=0-3)}
COUNT=$(( ${SLURM_ARRAY_TASK_MAX:?} - ${SLURM_ARRAY_TASK_MIN:-0} + 1 ))
if [ "${SLURM_ARRAY_TASK_MIN:-0}" != 0 ]; then
  echo "the array must start at 0 (--array=0-$((COUNT - 1)))" >&2
  exit 2
fi

# Finished runs are reused, so a task that failed can simply be resubmitted:
#   sbatch --array=<I> slurm-array.sh
# shellcheck disable=SC2086 # ARGS is a list of flags
exec "$NNLAB" --quiet --out "$OUT" all $ARGS --data-dir "$DATA" --offline --shard "$INDEX/$COUNT"
