#!/usr/bin/env bash
# Reproduce Table 1, TC and Table 4 (MNIST addition) on the real MNIST, then write the
# tables into experiments/ and draw each distortion's best ST-CNN (chosen on val/err).
#
#   bash scripts/reproduce_mnist.sh            # 30 epochs per run (the CPU budget)
#   EPOCHS=10 bash scripts/reproduce_mnist.sh  # another budget, in its own folder
# (RUNS=folder, PAGES=folder and README=file move the runs, pages and headline elsewhere.)
#
# Resumable: finished runs are skipped and an interrupted one resumes from its last
# checkpoint, so rerun it until every cell is filled. Extra arguments go to every sweep
# (e.g. trainer=gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PY:-.venv/bin/python}
epochs=${EPOCHS:-30}
dir=${RUNS:-multirun/epochs$epochs}
pages=${PAGES:-experiments}
sweep=(schedule.max_epochs="$epochs" hydra.sweep.dir="$dir" "$@")

"$py" train.py -m +sweep=table1 "${sweep[@]}"
"$py" train.py -m +sweep=tc "${sweep[@]}"
"$py" train.py -m experiment=mnist_addition model=fcn,cnn stn=none "${sweep[@]}"
"$py" train.py -m experiment=mnist_addition model=fcn stn=affine,projective,tps stn.n=1,2 \
    "${sweep[@]}"

report=("$py" -m stn.report "$dir")
"${report[@]}" --tables table1,tc,table4  # report.md and report.csv in $dir
for table in table1:table1_distorted_mnist tc:tc_cluttered_mnist table4:table4_mnist_addition; do
    "${report[@]}" --tables "${table%%:*}" --into "$pages/${table#*:}.md"
done
"${report[@]}" --tables table1,tc,table4 --brief --into "${README:-README.md}"
mkdir -p "$pages/figures"
for distortion in r rts p e tc; do
    "$py" -m stn.figure "$dir/mnist_$distortion" --where model.name=cnn \
        --out "$pages/figures/mnist_$distortion.png"
done
