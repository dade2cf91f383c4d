"""stn.data.mnist_files: MNIST found, checked (corrupt is not missing), and downloaded."""

import hashlib

import pytest
from fake_mnist import write_fake_mnist

import stn.data.mnist_files as mnist_files
from stn.data.mnist_files import FILES, load_mnist, raw_dir
from stn.errors import MissingData, UsageError


def test_missing_mnist_says_where_to_put_it(tmp_path):
    with pytest.raises(MissingData, match=r"MNIST/raw.*train-images-idx3-ubyte.*STN_DATA_DIR"):
        load_mnist(tmp_path, train=True)


def test_real_mnist_when_present(mnist_root):
    images, labels = load_mnist(mnist_root, train=False)
    assert images.shape == (10_000, 28, 28) and labels.bincount().tolist()[0] == 980


def test_a_truncated_or_foreign_file_is_corrupt_not_missing(tmp_path):
    write_fake_mnist(tmp_path)
    images = raw_dir(tmp_path) / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(UsageError, match=r"t10k-images-idx3-ubyte is corrupt: .*truncated"):
        load_mnist(tmp_path, train=False)
    images.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(UsageError, match="is corrupt: not a uint8 IDX file"):
        load_mnist(tmp_path, train=False)


def test_a_file_of_the_official_size_must_be_the_official_file(tmp_path, mnist_root):
    write_fake_mnist(tmp_path)
    real = (raw_dir(mnist_root) / "t10k-labels-idx1-ubyte").read_bytes()
    changed = bytearray(real)
    changed[-1] = (changed[-1] + 1) % 10  # one label: same size, other MD5
    (raw_dir(tmp_path) / "t10k-labels-idx1-ubyte").write_bytes(bytes(changed))
    with pytest.raises(UsageError, match=f"MD5 {hashlib.md5(changed).hexdigest()}, not the off"):
        load_mnist(tmp_path, train=False)


def _fake_download(fail: bool):
    class MNIST:  # torchvision's, as far as _download uses it
        def __init__(self, root, train, download):
            write_fake_mnist(__import__("pathlib").Path(root))
            if fail:
                raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    return MNIST


@pytest.mark.parametrize("fail", [False, True])
def test_download_moves_whole_files_in_or_leaves_nothing(tmp_path, monkeypatch, fail):
    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets, "MNIST", _fake_download(fail))
    if fail:
        with pytest.raises(MissingData, match=r"could not be downloaded \(RuntimeError: Error "):
            load_mnist(tmp_path, train=True, download=True)
        assert not any(raw_dir(tmp_path).iterdir())
    else:
        images, _ = load_mnist(tmp_path, train=True, download=True)
        assert images.shape == (400, 28, 28)
        assert sorted(p.name for p in raw_dir(tmp_path).iterdir()) == sorted(FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["MNIST"]  # no temporary folder left


def test_missing_files_without_download_are_named_with_where_to_put_them(tmp_path):
    with pytest.raises(MissingData, match=r"MNIST not found: train-images-idx3-ubyte, .*STN_DATA"):
        load_mnist(tmp_path, train=True, download=False)
    assert not any(tmp_path.iterdir())


def test_offline_the_download_fails_at_once_with_the_message(tmp_path):
    """This machine has no internet (a machine with it downloads: nothing to assert here)."""
    import socket

    try:
        socket.create_connection(("ossci-datasets.s3.amazonaws.com", 443), timeout=3).close()
        pytest.skip("this machine can reach the MNIST mirror")
    except OSError:
        pass
    with pytest.raises(MissingData, match=r"could not be downloaded.*Put the four uncompressed"):
        load_mnist(tmp_path, train=False, download=True)
    assert [p.name for p in tmp_path.iterdir()] == ["MNIST"]
    assert mnist_files.raw_dir(tmp_path).is_dir() and not any(raw_dir(tmp_path).iterdir())


def test_swapped_or_renamed_official_files_are_named(tmp_path, mnist_root):
    """The test split under the training names would train on the 10k test digits and test
    on the 60k training digits: refused, naming what each file really is."""
    raw = raw_dir(tmp_path)
    raw.mkdir(parents=True)
    real = raw_dir(mnist_root)
    for name, other in [
        ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"),
        ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"),
        ("t10k-images-idx3-ubyte", "train-images-idx3-ubyte"),
        ("t10k-labels-idx1-ubyte", "train-labels-idx1-ubyte"),
    ]:
        (raw / name).symlink_to(real / other)
    for train, name, other in [
        (True, "train-images-idx3-ubyte", "t10k-images-idx3-ubyte"),
        (False, "t10k-images-idx3-ubyte", "train-images-idx3-ubyte"),
    ]:
        with pytest.raises(UsageError) as err:
            load_mnist(tmp_path, train=train)
        assert str(err.value).startswith(
            f"{raw / name} is the official {other}, not {name}: the MNIST files are swapped"
        )
    (raw / "t10k-labels-idx1-ubyte").unlink()  # labels under the images' name
    (raw / "t10k-labels-idx1-ubyte").symlink_to(real / "t10k-labels-idx1-ubyte")
    (raw / "t10k-images-idx3-ubyte").unlink()
    (raw / "t10k-images-idx3-ubyte").symlink_to(real / "t10k-labels-idx1-ubyte")
    with pytest.raises(UsageError, match="is the official t10k-labels-idx1-ubyte, not t10k-imag"):
        load_mnist(tmp_path, train=False)


def test_a_folder_in_place_of_a_file_is_named(tmp_path):
    write_fake_mnist(tmp_path)
    path = raw_dir(tmp_path) / "t10k-images-idx3-ubyte"
    path.unlink()
    path.mkdir()
    with pytest.raises(
        UsageError, match=r"t10k-images-idx3-ubyte cannot be read \(Is a directory\)"
    ):
        load_mnist(tmp_path, train=False)
