#!/usr/bin/env bash
# Reproduce Table 1, TC and Table 4 (MNIST addition) on the real MNIST, record every run
# into experiments/records/<table>_epochs<N>/, write the tables from those records into
# experiments/ and the README, and draw each distortion's best ST-CNN (chosen on val/err).
#
#   bash scripts/reproduce_mnist.sh            # 30 epochs per run (the CPU budget)
#   EPOCHS=76 bash scripts/reproduce_mnist.sh  # another budget, in its own folder
# Addition learns far slower (experiments/table4_mnist_addition.md), so it has a budget of its
# own: ADDITION_EPOCHS, 100 unless set. (RUNS=folder, PAGES=folder and README=file move the
# runs' parent folder, the pages and the headline elsewhere; RECORDS=folder the records.)
#
# Each budget keeps its own record: the pages and the README hold a block per table and
# budget (<!-- stn.runs.report table1_epochs30 --> ...), and the figures go to
# experiments/figures/epochs<N>/. A budget a page has no block for is reported in its run
# folder only (report.md), so no budget's tables overwrite another's.
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

readme=${README:-README.md}
report=("$py" -m stn.runs.report)
records=${RECORDS:-experiments/records}
table1=$records/table1_epochs$epochs
tc=$records/tc_epochs$epochs
table4=$records/table4_epochs$addition_epochs

block() {  # PAGE BLOCK RUNS REPORT-ARGS...: RUNS' tables into PAGE's BLOCK, if it has one
    local page=$1 block=$2
    shift 2
    if ! grep -qsF "<!-- stn.runs.report $block -->" "$page"; then
        echo "reproduce_mnist: $page has no $block block: that table stays in its records, $1" >&2
    elif [[ $mode == write ]]; then
        "${report[@]}" "$@" --into "$page" --block "$block"
    fi
}
blocks() {  # every page's block for this budget (mode=check: say now which are missing)
    block "$pages/table1_distorted_mnist.md" "table1_epochs$epochs" "$table1" --tables table1
    block "$pages/tc_cluttered_mnist.md" "tc_epochs$epochs" "$tc" --tables tc
    block "$pages/table4_mnist_addition.md" "table4_epochs$addition_epochs" "$table4" \
        --tables table4
    block "$readme" "table1_epochs$epochs" "$table1" --tables table1 --brief
    block "$readme" "tc_epochs$epochs" "$tc" --tables tc --brief
    block "$readme" "table4_epochs$addition_epochs" "$table4" --tables table4 --brief
}
mode=check blocks

"$py" train.py -m +sweep=table1 "${sweep[@]}"
"$py" train.py -m +sweep=tc "${sweep[@]}"
"$py" train.py -m experiment=mnist_addition model=fcn,cnn stn=none "${addition[@]}"
"$py" train.py -m experiment=mnist_addition model=fcn stn=affine,projective,tps stn.n=1,2 \
    "${addition[@]}"

"${report[@]}" "$dir" --tables table1,tc  # report.md and report.csv in each folder
"${report[@]}" "$addition_dir" --tables table4
# Each finished run's record (config, metrics, scalars, facts, weights) for git: the pages'
# tables are made from these, so a clone can check every number.
"$py" -m stn.runs.record "$dir"/mnist_{r,rts,p,e} --into "$table1"
"$py" -m stn.runs.record "$dir/mnist_tc" --into "$tc"
"$py" -m stn.runs.record "$addition_dir/mnist_addition" --into "$table4"
mode=write blocks
figures=$pages/figures/epochs$epochs
mkdir -p "$figures"
for distortion in r rts p e tc; do
    "$py" -m stn.runs.figure "$dir/mnist_$distortion" --where model.name=cnn \
        --out "$figures/mnist_$distortion.png"
done
