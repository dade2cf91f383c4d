"""Distortion generators, the HDF5 cache and the MNIST DataModule."""

import pytest
import torch
from fake_mnist import write_fake_mnist

from stn.data.cache import cached
from stn.data.distortions import DISTORTIONS, angle_of, folds_frame, homography, scale_of
from stn.data.mnist import DistortedMNIST, distort
from stn.data.options import DISTORTION_PARAMETERS, check_distortion
from stn.errors import UsageError
from stn.nn import build_transform
from stn.runs.survey import mirrored

SHAPES = {"r": 28, "rts": 42, "p": 28, "e": 28, "tc": 60}


def _digits(n=64):
    digits = torch.zeros(n, 28, 28)
    digits[:, 6:22, 12:16] = 1.0  # a bar, so that mass and orientation are measurable
    return digits


def _run(name, digits, seed=0, **params):
    extra = {"clutter_from": digits} if name == "tc" else {}
    return DISTORTIONS[name](digits, torch.Generator().manual_seed(seed), **params, **extra)


@pytest.mark.parametrize("name", list(DISTORTIONS))
def test_shapes_ranges_and_determinism(name):
    images, _theta = _run(name, _digits())
    size = SHAPES[name]
    assert images.shape == (64, 1, size, size)
    assert images.min() >= 0 and images.max() <= 1 and images.sum() > 0
    again, _ = _run(name, _digits())
    other, _ = _run(name, _digits(), seed=1)
    assert torch.equal(images, again) and not torch.equal(images, other)


def test_rotation_angles_are_recoverable_and_bounded():
    _, theta = _run("r", _digits(2000))
    angles = angle_of(theta)
    assert angles.abs().max() <= 90 and angles.abs().max() > 85  # U(±90°) fills its range
    assert angles.mean().abs() < 5


def test_rts_scale_and_position_bounds():
    _images, theta = _run("rts", _digits(2000))
    scales = scale_of(theta, 42)
    assert scales.min() >= 0.7 - 1e-5 and scales.max() <= 1.2 + 1e-5
    assert angle_of(theta).abs().max() <= 45 + 1e-4
    # θ maps the canvas to the digit: the digit's centre (0, 0) comes from the canvas point c
    # with A c + t = 0; c must keep the scaled digit's square on the canvas.
    a, t = theta.view(-1, 2, 3)[:, :, :2], theta.view(-1, 2, 3)[:, :, 2]
    centre = torch.linalg.solve(a, -t)
    assert (centre.abs() <= (1 - 28 * scales / 42).unsqueeze(1) + 1e-4).all()


def test_rts_with_a_shift_moves_the_centre_by_at_most_that_many_pixels_at_every_scale():
    """``shift=7``: the unscaled 28-px frame placed where it fits the 42-px canvas. The
    default draws are unchanged by the option (so recorded test sets stay the same)."""
    default, theta = _run("rts", _digits(2000))
    unset, _ = _run("rts", _digits(2000), shift=None)
    assert torch.equal(default, unset)
    _, theta = _run("rts", _digits(2000), shift=7.0)
    a, t = theta.view(-1, 2, 3)[:, :, :2], theta.view(-1, 2, 3)[:, :, 2]
    pixels = torch.linalg.solve(a, -t) * 42 / 2  # the digit's centre, pixels from the canvas's
    assert pixels.abs().max() <= 7 + 1e-3 and pixels.abs().max() > 6.9
    large = scale_of(theta, 42) > 1.1  # the default would keep these within ±4.2 px
    assert pixels[large].abs().max() > 6.5
    _, theta = _run("rts", _digits(100), shift=0.0)
    assert theta.view(-1, 2, 3)[:, :, 2].abs().max() < 1e-6  # centred


def test_rotated_bar_turns_by_the_sampled_angle():
    """The distorted image's principal axis is the bar's (vertical) turned by the angle."""
    images, theta = _run("r", _digits(16))
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    for image, angle in zip(images[:, 0], angle_of(theta), strict=True):
        w = image / image.sum()
        mx, my = (w * xx).sum(), (w * yy).sum()
        cxx, cyy, cxy = (
            (w * (xx - mx) ** 2).sum(),
            (w * (yy - my) ** 2).sum(),
            (w * (xx - mx) * (yy - my)).sum(),
        )
        axis = 0.5 * torch.atan2(2 * cxy, cxx - cyy)  # image axes (y down): angle from +x
        measured = torch.rad2deg(axis) - 90  # the bar starts vertical
        diff = (measured - angle + 90) % 180 - 90
        assert abs(diff) < 4


def test_homography_maps_the_corners():
    src = torch.rand(5, 4, 2) - 0.5 + torch.tensor([[-1.0, -1], [1, -1], [1, 1], [-1, 1]])
    dst = torch.tensor([[-1.0, -1], [1, -1], [1, 1], [-1, 1]]).expand(5, -1, -1)
    theta = homography(src, dst)
    torch.testing.assert_close(
        build_transform("projective").points(theta, src), dst, atol=1e-4, rtol=0
    )


def test_p_with_folds_redrawn_shows_nothing_from_behind_and_keeps_the_other_draws():
    literal, theta = _run("p", _digits(2000))
    redrawn, unfolded = _run("p", _digits(2000), folds="redraw")
    folded = folds_frame(theta)
    assert 0 < folded.sum() < 500  # 13 % of these bars: most fold only the empty border
    # The survey's pixel-wise Jacobian (an independent test) finds mirrors only among them.
    projective = build_transform("projective")
    flipped = mirrored(theta, projective, 28)
    assert flipped[folded].any() and not flipped[~folded].any()
    assert not folds_frame(unfolded).any() and not mirrored(unfolded, projective, 28).any()
    assert torch.equal(unfolded[~folded], theta[~folded])
    assert torch.equal(redrawn[~folded], literal[~folded])


def test_p_outward_moves_every_corner_away_from_the_centre():
    _, theta = _run("p", _digits(), scale=(1.0, 1.0), corners="outward")
    h = build_transform("projective").matrix(theta.double())
    square = torch.tensor([[-1.0, -1], [1, -1], [1, 1], [-1, 1]]).double()
    landed = torch.linalg.inv(h) @ torch.cat((square, torch.ones(4, 1)), dim=1).T  # (B, 3, 4)
    landed = (landed[:, :2] / landed[:, 2:]).transpose(1, 2)  # each corner in the output
    assert (landed * square >= 1 - 1e-6).all()  # outside the frame, on its own side
    assert (landed * square).mean() > 1.1  # |N(0, 5 px)| moves ~4 px of 14


def test_p_options_outside_their_choices_are_named():
    with pytest.raises(UsageError, match="corners='sideways' must be 'any' or 'outward'"):
        _run("p", _digits(2), corners="sideways")
    with pytest.raises(UsageError, match="folds='drop' 'keep' or 'redraw'"):
        _run("p", _digits(2), folds="drop")


def test_elastic_control_points_move_by_the_configured_std():
    _, theta = _run("e", _digits(4000), std=1.5)
    moved = (theta - build_transform("tps").identity()) * 14  # pixels
    assert moved.std().item() == pytest.approx(1.5, rel=0.05)


def test_elastic_grid_span_places_the_control_grid_and_keeps_the_noise():
    _, theta = _run("e", _digits(4000), grid_span=20)
    box = build_transform("tps", span=20 / 28).identity()
    assert box.abs().max().item() == pytest.approx(20 / 28)  # outermost points 10 px out
    moved = (theta - box) * 14  # pixels
    assert moved.std().item() == pytest.approx(1.5, rel=0.05)


@pytest.mark.parametrize(
    ("name", "params"), [("r", {}), ("rts", {}), ("p", {}), ("e", {}), ("e", {"grid_span": 20})]
)
def test_transform_of_gives_the_warp_each_distortion_sampled_with(name, params):
    from stn.data.distortions import transform_of
    from stn.nn import sample

    digits = _digits(8)
    images, theta = _run(name, digits, **params)
    warp = transform_of(name, params)
    grid = warp.grid(theta, images.shape[-2:])
    torch.testing.assert_close(sample(digits.unsqueeze(1), grid), images, atol=0, rtol=0)
    if name == "e":  # another span samples other images
        other = transform_of(name, {"grid_span": 48 - params.get("grid_span", 28)})
        assert not torch.allclose(sample(digits.unsqueeze(1), other.grid(theta, (28, 28))), images)


def test_cluttered_adds_clutter_outside_the_digit():
    digits = _digits(32)
    plain, _ = _run("tc", digits, clutter=0)
    cluttered, _ = _run("tc", digits, clutter=6)
    assert (cluttered >= plain - 1e-6).all() and (cluttered - plain).sum() > 0


def test_unknown_distortion_or_parameter_is_named():
    with pytest.raises(ValueError, match="valid: r, rts, p, e, tc"):
        check_distortion("shear", {})
    with pytest.raises(ValueError, match=r"no parameter \['canvas'\]"):
        check_distortion("r", {"canvas": 42})


def test_addition_samples_stack_two_digits_and_sum_labels():
    digits = (torch.rand(50, 28, 28) * 255).byte()
    labels = torch.randint(0, 10, (50,))
    out = distort(digits, labels, "rts", {}, digits_per_sample=2, seed=0)
    assert out["images"].shape == (50, 2, 42, 42) and out["images"].dtype == torch.uint8
    assert out["labels"].max() <= 18 and not torch.equal(out["labels"], labels)


# --- cache ---------------------------------------------------------------------------------------


def test_cache_is_reused_and_rebuilt_when_its_recipe_changes(tmp_path):
    calls = []

    def build(value):
        calls.append(value)
        return {"x": torch.full((3,), value)}

    path = tmp_path / "c.h5"
    assert cached(path, {"a": 1}, lambda: build(1))["x"].tolist() == [1, 1, 1]
    assert cached(path, {"a": 1}, lambda: build(9))["x"].tolist() == [1, 1, 1]  # reused
    assert cached(path, {"a": 2}, lambda: build(2))["x"].tolist() == [2, 2, 2]  # rebuilt
    path.write_bytes(b"not hdf5")  # a corrupt file is rebuilt, not trusted
    assert cached(path, {"a": 2}, lambda: build(3))["x"].tolist() == [3, 3, 3]
    assert calls == [1, 2, 3]
    assert [p.name for p in tmp_path.iterdir()] == ["c.h5"]  # no temporary left behind


def test_a_cache_missing_a_dataset_or_with_changed_bytes_is_rebuilt(tmp_path):
    import h5py

    def build(value):
        return {"x": torch.full((3,), value), "theta": torch.zeros(2)}

    path = tmp_path / "c.h5"
    cached(path, {"a": 1}, lambda: build(1))
    with h5py.File(path, "r+") as f:
        f["x"][1] = 7  # overwritten bytes, recipe intact
    assert cached(path, {"a": 1}, lambda: build(2))["x"].tolist() == [2, 2, 2]
    with h5py.File(path, "r+") as f:
        del f["theta"]  # a dataset gone
    assert set(cached(path, {"a": 1}, lambda: build(3))) == {"x", "theta"}
    assert cached(path, {"a": 1}, lambda: build(4))["x"].tolist() == [3, 3, 3]  # now trusted


def test_a_killed_build_leaves_no_cache(tmp_path):
    def build():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached(tmp_path / "c.h5", {}, build)
    assert list(tmp_path.iterdir()) == []


# --- data module ---------------------------------------------------------------------------------


def test_datamodule_splits_and_caches(tmp_path):
    root = write_fake_mnist(tmp_path / "data")

    def make(**kw):
        return DistortedMNIST(
            data_dir=str(root),
            cache_dir=str(tmp_path / "cache"),
            distortion={"name": "rts"},
            val_size=100,
            batch_size=32,
            **kw,
        )

    dm = make()
    dm.setup()
    assert (
        len(dm.sets["val"]) == 100
        and len(dm.sets["test"]) == 100
        and len(dm.splits["train"][0]) == 300
    )
    batch = next(iter(dm.val_dataloader()))
    assert batch.image.dtype == torch.uint8 and batch.box is None  # converted on the device:
    x = dm.on_after_batch_transfer(batch, 0).image
    assert x.shape == (32, 1, 42, 42) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert len(list((tmp_path / "cache").iterdir())) == 2
    again = make()
    again.setup()  # same recipe: the caches are read back, bit for bit
    assert torch.equal(again.sets["test"].images, dm.sets["test"].images)
    assert len(list((tmp_path / "cache").iterdir())) == 2
    fresh = next(iter(dm.train_dataloader())).image
    assert fresh.shape == (32, 1, 42, 42)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("rts", {"scale": [-1, 0]}, "data.distortion.scale=[-1, 0] must be two numbers [low, "),
        ("rts", {"scale": [1.2, 0.7]}, "data.distortion.scale=[1.2, 0.7] must be two numbers"),
        ("r", {"angle": "abc"}, "data.distortion.angle='abc' must be a number of degrees"),
        ("r", {"angle": float("nan")}, "data.distortion.angle=nan must be a number"),
        ("rts", {"canvas": 20}, "data.distortion.canvas=20 must be an integer of at least 28"),
        ("rts", {"shift": -1}, "data.distortion.shift=-1 must be null (wherever the scaled"),
        ("p", {"corner_std": -5.0}, "data.distortion.corner_std=-5.0 must be a number of pix"),
        ("p", {"folds": "maybe"}, "data.distortion.folds='maybe' must be 'keep' or 'redraw'"),
        ("e", {"grid_size": 1}, "data.distortion.grid_size=1 must be an integer of at least 2"),
        ("e", {"grid_span": 0}, "data.distortion.grid_span=0 must be a number of pixels, more"),
        ("tc", {"clutter_size": 40}, "data.distortion.clutter_size=40 must be an integer in"),
    ],
)
def test_an_impossible_parameter_is_refused_with_what_is_allowed(name, params, message):
    with pytest.raises(ValueError) as err:
        check_distortion(name, params)
    assert str(err.value).startswith(message)


def test_every_configured_distortion_passes_its_checks():
    from omegaconf import OmegaConf

    from stn.train import CONFIGS

    for path in sorted((CONFIGS / "data" / "distortion").glob("*.yaml")):
        params = OmegaConf.to_container(OmegaConf.load(path))
        check_distortion(params.pop("name"), params)


def test_the_checked_parameters_are_the_distortions_own():
    """``stn.data.options`` checks each distortion's parameters without importing torch: its
    list must be the keyword arguments of the function that distorts."""
    import inspect

    assert list(DISTORTION_PARAMETERS) == list(DISTORTIONS)
    for name, fn in DISTORTIONS.items():
        own = [p for p in inspect.signature(fn).parameters if p not in ("digits", "gen")]
        assert list(DISTORTION_PARAMETERS[name]) == [p for p in own if p != "clutter_from"]


def test_the_checked_canvases_are_the_distortions_own():
    """``MnistOptions.image_shape`` (read before torch is imported) falls back on the
    canvas the distorting function defaults to, and a distortion without one keeps 28 px."""
    import inspect

    from helpers import compose
    from omegaconf import OmegaConf

    from stn.data.options import CANVAS, DIGIT, check_data

    canvases = {
        name: p.default
        for name, fn in DISTORTIONS.items()
        for p in inspect.signature(fn).parameters.values()
        if p.name == "canvas"
    }
    assert canvases == CANVAS
    shapes = {}
    for experiment in ("mnist_r", "mnist_rts", "mnist_tc"):
        data = OmegaConf.to_container(compose([f"experiment={experiment}"]).data, resolve=True)
        data["distortion"].pop("canvas", None)  # the function's default, as configs may leave it
        shapes[experiment] = check_data(data).image_shape
    assert shapes == {
        "mnist_r": (1, DIGIT, DIGIT),
        "mnist_rts": (1, 42, 42),
        "mnist_tc": (1, 60, 60),
    }
