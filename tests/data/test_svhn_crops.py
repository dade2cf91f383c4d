"""SVHN crops: union box, 30 % enlargement, clipping, resize; label encoding."""

import numpy as np
import pytest
import torch

from stn.data.digit_struct import read_digit_struct
from stn.data.svhn_cache import read_rgb
from stn.data.svhn_crops import crop, crop_box, encode_labels


def test_label_encoding():
    np.testing.assert_array_equal(encode_labels(np.array([1, 9])), [1, 9, 10, 10, 10])
    np.testing.assert_array_equal(encode_labels(np.array([2, 1, 10])), [2, 1, 0, 10, 10])
    np.testing.assert_array_equal(encode_labels(np.array([10] * 5)), [0, 0, 0, 0, 0])
    assert encode_labels(np.array([1] * 6)) is None  # longer than 5: dropped


def _boxes(*rows):
    return np.array([(1, *r) for r in rows], dtype=float)  # (label, left, top, width, height)


def test_union_box_enlarged_30_percent_about_its_centre():
    # Two digits spanning x 100..160 and y 50..90: centre (130, 70), 60 × 40 → 78 × 52.
    boxes = _boxes((100, 50, 20, 40), (140, 60, 20, 30))
    assert crop_box(boxes, 300, 400) == (91, 44, 169, 96)
    # 128 px: a box twice as large about the same centre (156 × 104).
    assert crop_box(boxes, 300, 400, size=128) == (52, 18, 208, 122)


def test_crop_box_is_clipped_at_the_image_border():
    # x 2..22, y 3..33 → centre (12, 18), enlarged 26 × 39: x -1..25, y -1.5..37.5.
    boxes = _boxes((2, 3, 20, 30))
    assert crop_box(boxes, 36, 50) == (0, 0, 25, 36)  # clipped left, top and bottom
    with pytest.raises(ValueError, match="outside"):
        crop_box(_boxes((100, 100, 10, 10)), 40, 50)
    with pytest.raises(ValueError, match="crop size"):
        crop_box(boxes, 40, 50, size=32)


def test_crop_resizes_the_box():
    image = torch.arange(3 * 40 * 60, dtype=torch.float32).reshape(3, 40, 60)
    image = (image % 256).to(torch.uint8)
    out = crop(image, (10, 5, 30, 25), 64)
    assert out.shape == (3, 64, 64) and out.dtype == torch.uint8
    square = image[:, :, :40]
    assert torch.equal(crop(square, (0, 0, 40, 40), 40), square)  # same size: the identity
    constant = torch.full((3, 40, 60), 77, dtype=torch.uint8)
    assert (crop(constant, (3, 4, 50, 33), 128) == 77).all()


def test_real_sample_crop(sample):
    records = read_digit_struct(sample / "train" / "digitStruct.mat")
    name, boxes = records.record(0)  # "19": left [246, 323], top [77, 81]
    image = read_rgb(sample / "train" / name)
    _, h, w = image.shape
    x0, y0, x1, y1 = crop_box(boxes, h, w)
    assert x0 < 246 and x1 > 323 + boxes[1, 3] and y0 < 77 and y1 > 81 + boxes[1, 4]
    out = crop(image, (x0, y0, x1, y1), 64)
    assert out.shape == (3, 64, 64) and out.float().std() > 10  # a real, non-blank crop
