"""Reading recorded YAML (``stn.files.read_yaml``): as OmegaConf reads it, safely."""

import pytest
from helpers import ROOT
from omegaconf import OmegaConf

from stn.errors import UsageError
from stn.files import read_yaml

YAMLS = sorted(
    p for folder in ("configs", "experiments/records") for p in (ROOT / folder).rglob("*.yaml")
)


def test_every_config_and_record_reads_as_omegaconf_reads_it():
    """The independent oracle: OmegaConf's own reading, on every YAML file the project has."""
    assert len(YAMLS) > 100
    for path in YAMLS:
        expected = OmegaConf.to_container(OmegaConf.create(path.read_text()), resolve=False)
        assert repr(read_yaml(path)) == repr(expected), path  # repr: 1 and 1.0 differ


@pytest.mark.parametrize(
    "text",
    [
        "a: 1e-3\nb: -1.5E+3\nc: .inf\nd: 1_000\ne: 0x10\nf: yes\ng: 1.\n",  # numbers, booleans
        "day: 2020-01-01\ntime: 12:30\nnull_: ~\nempty:\n",  # no timestamps
        "x: ${paths.root_dir}/data\ny: '${oc.env:HOME}'\n",  # interpolations as written
        "- seed=1\n- model=fcn\n",  # an overrides.yaml
        "a: {b: [1, {c: d}], e: 'quoted: colon'}\n",
    ],
)
def test_scalars_read_as_omegaconf_reads_them(text, tmp_path):
    (tmp_path / "c.yaml").write_text(text)
    expected = OmegaConf.to_container(OmegaConf.create(text), resolve=False)
    assert repr(read_yaml(tmp_path / "c.yaml")) == repr(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x [1]\nb: *x\n", "holds a YAML alias (*name) or no data"),
        ("", "holds a YAML alias (*name) or no data"),
        ("just a string\n", "holds a YAML alias (*name) or no data"),
        ("a: 1\na: 2\n", "is not plain YAML data: while constructing a mapping"),
        ("x: !!python/object/apply:os.system ['true']\n", "is not plain YAML data"),
        ("a: [1\n", "is not plain YAML data"),
    ],
)
def test_unsafe_or_broken_yaml_is_refused_naming_the_file(text, message, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=r"config\.yaml") as err:
        read_yaml(path)
    assert message in str(err.value)
