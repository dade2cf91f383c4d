#!/usr/bin/env bash
# Reproduce Table 1, TC and Table 4 (MNIST addition) on the real MNIST, then write the
# tables into experiments/ and draw each distortion's best ST-CNN (chosen on val/err).
#
#   bash scripts/reproduce_mnist.sh            # 30 epochs per run (the CPU budget)
#   EPOCHS=10 bash scripts/reproduce_mnist.sh  # another budget, in its own folder
# Addition learns far slower (experiments/table4_mnist_addition.md), so it has a budget of its
# own: ADDITION_EPOCHS, 100 unless set. (RUNS=folder, PAGES=folder and README=file move the
# runs' parent folder, the pages and the headline elsewhere.)
#
# Resumable: finished runs are skipped and an interrupted one resumes from its last
# checkpoint, so rerun it until every cell is filled. Extra arguments go to every sweep
# (e.g. trainer=gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PY:-.venv/bin/python}
epochs=${EPOCHS:-30}
addition_epochs=${ADDITION_EPOCHS:-100}
dir=${RUNS:-multirun}/epochs$epochs
addition_dir=${RUNS:-multirun}/epochs$addition_epochs
pages=${PAGES:-experiments}
sweep=(schedule.max_epochs="$epochs" hydra.sweep.dir="$dir" "$@")
addition=(schedule.max_epochs="$addition_epochs" hydra.sweep.dir="$addition_dir" "$@")

"$py" train.py -m +sweep=table1 "${sweep[@]}"
"$py" train.py -m +sweep=tc "${sweep[@]}"
"$py" train.py -m experiment=mnist_addition model=fcn,cnn stn=none "${addition[@]}"
"$py" train.py -m experiment=mnist_addition model=fcn stn=affine,projective,tps stn.n=1,2 \
    "${addition[@]}"

report=("$py" -m stn.runs.report)
"${report[@]}" "$dir" --tables table1,tc  # report.md and report.csv in each folder
"${report[@]}" "$addition_dir" --tables table4
"${report[@]}" "$dir" --tables table1 --into "$pages/table1_distorted_mnist.md"
"${report[@]}" "$dir" --tables tc --into "$pages/tc_cluttered_mnist.md"
"${report[@]}" "$addition_dir" --tables table4 --into "$pages/table4_mnist_addition.md"
brief=(--brief --into "${README:-README.md}")  # the README has a block per table
"${report[@]}" "$dir" --tables table1 "${brief[@]}" --block table1
"${report[@]}" "$dir" --tables tc "${brief[@]}" --block tc
"${report[@]}" "$addition_dir" --tables table4 "${brief[@]}" --block table4
mkdir -p "$pages/figures"
for distortion in r rts p e tc; do
    "$py" -m stn.runs.figure "$dir/mnist_$distortion" --where model.name=cnn \
        --out "$pages/figures/mnist_$distortion.png"
done
