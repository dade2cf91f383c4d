"""SVHN preparation: crops and labels cached from the real sample and a generated split."""

import numpy as np
import pytest
import torch
from PIL import Image

import stn.data.svhn_cache as svhn
from stn.data.digit_struct import read_digit_struct, write_digit_struct
from stn.data.svhn_crops import crop, crop_box


def test_missing_split_says_what_to_download(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"housenumbers/extra\.tar\.gz.*SVHN"):
        svhn.prepare(tmp_path, tmp_path / "cache", "extra")
    with pytest.raises(ValueError, match="unknown SVHN split"):
        svhn.prepare(tmp_path, tmp_path / "cache", "valid")


def test_real_sample_first_records(sample, tmp_path, monkeypatch):
    # The sample holds 39 records but only 1.png–3.png: the first 3 can be cropped.
    root = tmp_path / "data"
    (root / "SVHN").mkdir(parents=True)
    (root / "SVHN" / "train").symlink_to(sample / "train")
    out = svhn.prepare(root, tmp_path / "cache", "train", size=64, limit=3, workers=1)
    assert out["images"].shape == (3, 3, 64, 64) and out["images"].dtype == torch.uint8
    np.testing.assert_array_equal(out["labels"][0], [1, 9, 10, 10, 10])  # "19"
    image = svhn.read_rgb(sample / "train" / "1.png")
    boxes = read_digit_struct(sample / "train" / "digitStruct.mat").record(0)[1]
    expected = crop(image, crop_box(boxes, *image.shape[1:]), 64)
    assert torch.equal(out["images"][0], expected)
    # Cached: a second call does not parse or crop again.
    monkeypatch.setattr(svhn, "read_digit_struct", lambda *a: pytest.fail("rebuilt the cache"))
    again = svhn.prepare(root, tmp_path / "cache", "train", size=64, limit=3)
    assert torch.equal(again["images"], out["images"])


def test_generated_split_drops_long_sequences(tmp_path):
    folder = tmp_path / "SVHN" / "test"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    records = []
    for i, n in enumerate([1, 3, 6, 5, 2]):  # the third (6 digits) is dropped
        image = torch.from_numpy(rng.integers(0, 256, (3, 48, 96), dtype=np.uint8))
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"{i + 1}.png")
        left = 10 + 12 * np.arange(n)
        boxes = np.column_stack([rng.integers(1, 11, n), left, [8] * n, [10] * n, [30] * n])
        records.append((f"{i + 1}.png", boxes))
    write_digit_struct(folder / "digitStruct.mat", records)
    out = svhn.prepare(tmp_path, tmp_path / "cache", "test", size=128, workers=2)
    assert out["images"].shape == (4, 3, 128, 128) and int(out["dropped"][0]) == 1
    kept = [r for r in records if len(r[1]) <= 5]
    for row, (_, boxes) in zip(out["labels"], kept, strict=True):
        digits = boxes[:, 0].astype(int) % 10
        np.testing.assert_array_equal(row[: len(digits)], digits)
        assert (row[len(digits) :] == 10).all()
    image = svhn.read_rgb(folder / "4.png")
    expected = crop(image, crop_box(kept[2][1], 48, 96, 128), 128)
    assert torch.equal(out["images"][2], expected)
    # A PNG changed after the crops were cut: they are cut again, from the new image.
    Image.fromarray(np.zeros((48, 96, 3), np.uint8)).save(folder / "4.png")
    again = svhn.prepare(tmp_path, tmp_path / "cache", "test", size=128, workers=2)
    assert again["images"][2].sum() == 0 and torch.equal(again["images"][0], out["images"][0])
