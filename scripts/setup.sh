#!/usr/bin/env bash
# Create .venv with the package and its dev extras. Idempotent; ~40 s on a fresh machine.
# torch/torchvision come from the package registry (their CUDA builds also run on CPUs).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install -q uv
[ -x .venv/bin/python ] || python3 -m uv venv -q -p python3 .venv
# Bytecode compiled once, here: where PYTHONDONTWRITEBYTECODE is set, every process would
# otherwise compile torch and Lightning from source again.
python3 -m uv pip install -q --compile-bytecode -p .venv/bin/python -e ".[dev]"
