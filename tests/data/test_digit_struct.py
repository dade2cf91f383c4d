"""SVHN's digitStruct.mat: the real sample's known records; generated files read back exactly."""

import numpy as np
import pytest

from stn.data import digit_struct
from stn.data.digit_struct import read_digit_struct, write_digit_struct


def test_real_sample_known_records(sample):
    train = read_digit_struct(sample / "train" / "digitStruct.mat")
    test = read_digit_struct(sample / "test" / "digitStruct.mat")
    assert (len(train), len(test)) == (39, 40)
    name, boxes = train.record(0)
    assert name == "1.png"
    np.testing.assert_array_equal(boxes[:, 0], [1, 9])  # labels
    np.testing.assert_array_equal(boxes[:, 1], [246, 323])  # left
    np.testing.assert_array_equal(boxes[:, 2], [77, 81])  # top
    name, boxes = test.record(1)
    assert name == "2.png"
    np.testing.assert_array_equal(boxes[:, 0], [2, 1, 10])  # "210": label 10 is the digit 0
    assert [train.names[i] for i in range(3)] == ["1.png", "2.png", "3.png"]
    assert train.start[-1] == len(train.boxes) and (np.diff(train.start) >= 1).all()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """201 records, 1–6 digits each, and their file."""
    rng = np.random.default_rng(0)
    records = []
    for i in range(201):
        n = int(rng.integers(1, 7))  # one-digit records store inline floats, others references
        boxes = np.column_stack(
            [rng.integers(1, 11, n), *(rng.uniform(0, 500, n).round(1) for _ in range(4))]
        )
        records.append((f"{i + 1}.png", boxes))
    path = tmp_path_factory.mktemp("svhn") / "digitStruct.mat"
    write_digit_struct(path, records)
    return path, records


@pytest.mark.parametrize("workers", [1, 2])
def test_generated_file_reads_back_exactly(generated, workers, monkeypatch):
    monkeypatch.setattr(digit_struct, "RECORDS_PER_WORKER", 100)  # two shares and one record
    path, records = generated
    read = read_digit_struct(path, workers=workers)
    assert len(read) == len(records)
    for i in (0, 1, 2, 99, 100, 101, 200):
        name, boxes = read.record(i)
        assert name == records[i][0]
        np.testing.assert_array_equal(boxes, records[i][1])
    np.testing.assert_array_equal(read.boxes, np.concatenate([b for _, b in records]))


def test_not_a_digit_struct(tmp_path):
    import h5py

    with h5py.File(tmp_path / "other.mat", "w") as f:
        f["x"] = 1
    with pytest.raises(ValueError, match=r"not an SVHN digitStruct\.mat"):
        read_digit_struct(tmp_path / "other.mat")
