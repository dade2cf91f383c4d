"""The library installs and runs with torch alone; the suite's packages are an extra."""

import ast
import re
import shutil
import subprocess
import sys

import pytest
from helpers import ROOT

SUITE = ("torchvision", "hydra-core", "omegaconf", "pytorch-lightning", "tensorboard", "h5py")


def uv() -> list[str]:
    if shutil.which("uv"):
        return ["uv"]
    found = subprocess.run(["python3", "-m", "uv", "--version"], capture_output=True)
    if found.returncode != 0:
        pytest.skip("uv is not installed (scripts/setup.sh installs it)")
    return ["python3", "-m", "uv"]


def resolve(*extras: str) -> set[str]:
    """The packages that installing the project (with ``extras``) pulls, as uv resolves them."""
    args = [a for extra in extras for a in ("--extra", extra)]
    done = subprocess.run(
        [*uv(), "pip", "compile", "pyproject.toml", "-q", "--no-header", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"uv cannot resolve here (no registry?): {done.stderr.strip()[-300:]}")
    return set(re.findall(r"^([A-Za-z0-9_.-]+)==", done.stdout, re.MULTILINE))


def test_installing_the_library_pulls_torch_and_nothing_of_the_suite():
    library = resolve()
    assert "torch" in library
    assert not library & set(SUITE), sorted(library & set(SUITE))
    assert set(SUITE) <= resolve("suite")  # the extra that the README's setup installs


@pytest.mark.slow  # 9 s: a virtual environment built and run
def test_a_fresh_environment_with_the_library_holds_torch_alone_and_runs_it(tmp_path):
    """``pip install`` of the checkout into a new virtual environment (uv, offline: from the
    cache that scripts/setup.sh filled), then stn.nn run there, outside the checkout."""
    env = tmp_path / "env"
    python = env / "bin" / "python"
    made = subprocess.run(
        [*uv(), "venv", "-q", "-p", sys.executable, str(env)], capture_output=True
    )
    assert made.returncode == 0, made.stderr
    done = subprocess.run(
        [*uv(), "pip", "install", "-q", "--offline", "-p", str(python), str(ROOT)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"torch is not in uv's cache (offline install): {done.stderr[-300:]}")
    code = (
        "import importlib.metadata as m, torch\n"
        "from stn.nn import TRANSFORMS, SpatialTransformer, build_transform, fc_localisation\n"
        "for name in TRANSFORMS:\n"
        "    st = SpatialTransformer(fc_localisation((1, 12, 12), (8,)), build_transform(name))\n"
        "    st(torch.rand(2, 1, 12, 12)).sum().backward()\n"
        "print(sorted(d.metadata['Name'].lower() for d in m.distributions()))\n"
    )
    ran = subprocess.run([str(python), "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr[-3000:]
    installed = set(ast.literal_eval(ran.stdout))
    assert {"stn", "torch"} <= installed and not installed & {*SUITE, "safetensors", "numpy"}
