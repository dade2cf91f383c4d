"""Precision, memory format and threads chosen by the machine; explicit values win."""

import pytest
import torch
import yaml
from helpers import compose
from omegaconf import OmegaConf

from stn import hardware
from stn.hardware import Machine
from stn.train import train

AMX = Machine("cpu", "Intel Xeon Platinum 8480+", "AVX512+AMX+AVX512-BF16", True, 2)
AVX2 = Machine("cpu", "AMD EPYC 7B13", "AVX2", False, 2)
H100 = Machine("gpu", "NVIDIA H100", "sm_90", True, 16)
T4 = Machine("gpu", "Tesla T4", "sm_75", False, 8)


@pytest.fixture(autouse=True)
def _threads():
    """A run sets torch's threads for its process: restore them for the tests after."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    ("machine", "precision"),
    [(AMX, "bf16-mixed"), (AVX2, "32-true"), (H100, "bf16-mixed"), (T4, "16-mixed")],
)
def test_auto_precision_follows_native_bf16(machine, precision):
    assert hardware.choose_precision(machine) == precision
    assert hardware.choose_channels_last(machine) is True


@pytest.mark.parametrize("machine", [AMX, AVX2, H100, T4])
def test_explicit_choices_win(machine):
    assert hardware.choose_precision(machine, "32-true") == "32-true"
    assert hardware.choose_precision(machine, "bf16-mixed") == "bf16-mixed"
    assert hardware.choose_channels_last(machine, False) is False
    assert hardware.choose_threads(machine, jobs=4, threads=3) == 3


def test_bad_choices_name_the_key_and_what_is_allowed():
    with pytest.raises(ValueError, match=r"trainer.precision='bf16'.*auto, 32-true, bf16-mixed"):
        hardware.choose_precision(AVX2, "bf16")
    with pytest.raises(ValueError, match="channels_last='yes' must be true, false or auto"):
        hardware.choose_channels_last(AVX2, "yes")
    for bad in (0, -1, 1.5, True, "two"):
        with pytest.raises(ValueError, match=r"threads=.* must be a positive integer or auto"):
            hardware.choose_threads(AVX2, 1, bad)


def _capabilities(monkeypatch, **found):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: found, raising=False)


def test_native_bf16_is_amx_or_avx512_bf16_unless_onednn_is_capped(monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    _capabilities(monkeypatch, amx_bf16=True, avx512_bf16=True)
    assert hardware.cpu_bf16_features() == ["AMX", "AVX512-BF16"]
    assert hardware.detect("cpu").native_bf16
    _capabilities(monkeypatch, amx_bf16=False, avx512_bf16=True)
    assert hardware.cpu_bf16_features() == ["AVX512-BF16"]
    _capabilities(monkeypatch, amx_bf16=False, avx512_bf16=False, avx2=True)
    assert hardware.cpu_bf16_features() == []
    assert hardware.choose_precision(hardware.detect("cpu")) == "32-true"
    # oneDNN told to stay below its bf16 kernels: bf16 would be emulated.
    _capabilities(monkeypatch, amx_bf16=True, avx512_bf16=True)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    assert hardware.cpu_bf16_features() == []
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert hardware.cpu_bf16_features() == ["AMX", "AVX512-BF16"]


def test_this_machine_is_described():
    machine = hardware.detect("cpu")
    assert machine.accelerator == "cpu" and machine.name and machine.cores >= 1
    assert machine.isa.split("+")[0] == torch.backends.cpu.get_cpu_capability()
    assert set(machine.describe()) == {"accelerator", "name", "isa", "native_bf16", "cores"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_a_gpu_run_without_a_gpu_is_refused_by_name():
    with pytest.raises(ValueError, match=r"trainer\.accelerator=gpu but torch sees no CUDA"):
        hardware.detect("gpu")


JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"


@pytest.mark.parametrize(
    ("launcher", "cores", "jobs"),
    [
        (None, 8, 1),
        ({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}, 8, 1),
        ({"_target_": JOBLIB, "n_jobs": 2}, 8, 2),
        ({"_target_": JOBLIB, "n_jobs": 10}, 2, 2),  # never more jobs than cores
        ({"_target_": JOBLIB, "n_jobs": -1}, 8, 8),  # joblib: -1 is every core
        ({"_target_": JOBLIB, "n_jobs": -2}, 8, 7),
    ],
)
def test_concurrent_jobs(launcher, cores, jobs):
    assert hardware.concurrent_jobs(launcher, cores) == jobs


@pytest.mark.parametrize(
    ("cores", "jobs", "threads"), [(2, 1, 2), (2, 2, 1), (16, 3, 5), (1, 4, 1)]
)
def test_threads_split_the_cores_among_concurrent_jobs(cores, jobs, threads):
    machine = Machine("cpu", "x", "AVX2", False, cores)
    assert hardware.choose_threads(machine, jobs) == threads


def test_a_run_records_what_it_ran_on(fake_data):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    train(compose(["trainer.fast_dev_run=true"], fake_data))
    machine = hardware.detect("cpu")
    recorded = yaml.safe_load((fake_data / "out" / "config.yaml").read_text())
    assert recorded["machine"] == machine.describe()
    assert recorded["trainer"]["precision"] == hardware.choose_precision(machine)
    assert recorded["channels_last"] is True and recorded["threads"] == machine.cores
    assert torch.get_num_threads() == machine.cores

    events = EventAccumulator(str(fake_data / "out" / "tensorboard")).Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    assert hparams["machine.name"].string_value == machine.name
    assert hparams["machine.isa"].string_value == machine.isa
    assert hparams["trainer.precision"].string_value == recorded["trainer"]["precision"]
    assert hparams["threads"].number_value == machine.cores


def test_explicit_settings_are_recorded_as_given(fake_data):
    overrides = ["trainer.precision=32-true", "channels_last=false", "threads=1"]
    train(compose([*overrides, "trainer.fast_dev_run=true"], fake_data))
    recorded = OmegaConf.load(fake_data / "out" / "config.yaml")
    assert recorded.trainer.precision == "32-true"
    assert (recorded.channels_last, recorded.threads) == (False, 1)
    assert torch.get_num_threads() == 1
