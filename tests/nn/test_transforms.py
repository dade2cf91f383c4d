"""Grid generators: identities, known transforms, independent oracles, errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from helpers import near_identity

from stn.nn import Affine, ThinPlateSpline, build_transform, output_coordinates, sample

SIZES = [(8, 8), (5, 9), (13, 4)]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("align_corners", [False, True])
def test_identity_reproduces_input(transform, size, dtype, align_corners):
    x = torch.rand(3, 2, *size, dtype=dtype)
    theta = transform.identity(dtype).repeat(3, 1)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    grid = transform.grid(theta, size, align_corners)
    torch.testing.assert_close(
        grid[0].view(-1, 2),
        output_coordinates(size, dtype=dtype, align_corners=align_corners),
        atol=tol,
        rtol=0,
    )
    torch.testing.assert_close(sample(x, grid, align_corners=align_corners), x, atol=tol, rtol=0)


def test_output_coordinates_are_pixel_centres():
    xy = output_coordinates((2, 4))
    assert xy.tolist() == [[-0.75, -0.5], [-0.25, -0.5], [0.25, -0.5], [0.75, -0.5],
                           [-0.75, 0.5], [-0.25, 0.5], [0.25, 0.5], [0.75, 0.5]]  # fmt: skip


@pytest.mark.parametrize("size", [*SIZES, (1, 5)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_matches_affine_grid_and_grid_sample(size, align_corners):
    theta = torch.randn(4, 6, dtype=torch.float64)
    expected = F.affine_grid(theta.view(-1, 2, 3), [4, 1, *size], align_corners=align_corners)
    grid = Affine().grid(theta, size, align_corners)
    torch.testing.assert_close(grid, expected, atol=1e-12, rtol=0)
    x = torch.rand(4, 2, 6, 7, dtype=torch.float64)
    torch.testing.assert_close(
        sample(x, grid, align_corners=align_corners),
        F.grid_sample(x, expected, align_corners=align_corners),
        atol=1e-12,
        rtol=0,
    )


def test_projective_without_perspective_is_affine():
    affine = torch.randn(4, 6, dtype=torch.float64)
    theta = torch.cat((affine, torch.zeros(4, 2, dtype=torch.float64)), dim=1)
    grid = build_transform("projective").grid(theta, (7, 6))
    torch.testing.assert_close(grid, Affine().grid(affine, (7, 6)), atol=1e-12, rtol=0)


def test_attention_is_scaled_translated_affine():
    s, tx, ty = 0.6, 0.2, -0.3
    theta = torch.tensor([[s, tx, ty]], dtype=torch.float64)
    affine = torch.tensor([[s, 0, tx, 0, s, ty]], dtype=torch.float64)
    torch.testing.assert_close(
        build_transform("attention").grid(theta, (6, 5)),
        Affine().grid(affine, (6, 5)),
        atol=1e-12,
        rtol=0,
    )


def test_known_rotation_moves_pixels_where_expected():
    """θ = [[0, -1, 0], [1, 0, 0]] maps output (x, y) to source (-y, x): out[i, j] = x[j, 3 - i],
    a quarter turn counter-clockwise."""
    x = torch.arange(16.0).view(1, 1, 4, 4)
    theta = torch.tensor([[0.0, -1.0, 0.0, 1.0, 0.0, 0.0]])
    out = sample(x, Affine().grid(theta, (4, 4)))
    torch.testing.assert_close(out[0, 0], torch.rot90(x[0, 0], k=1, dims=(0, 1)))


def test_points_agree_with_grid(transform):
    theta = near_identity(transform, 2, dtype=torch.float64)
    size = (5, 7)
    grid = transform.grid(theta, size)
    points = transform.points(theta, output_coordinates(size, dtype=torch.float64))
    torch.testing.assert_close(points, grid.view(2, -1, 2), atol=1e-12, rtol=0)


# --- thin-plate spline ---------------------------------------------------------------------------


def _tps_centres(grid_size=4):
    return ThinPlateSpline(grid_size).identity(torch.float64).view(-1, 2)


@pytest.mark.parametrize("grid_size", [2, 4, 5])
def test_tps_reproduces_any_affine_map_exactly(grid_size):
    tps = ThinPlateSpline(grid_size)
    affine = torch.randn(3, 2, 3, dtype=torch.float64)
    centres = _tps_centres(grid_size)
    moved = centres @ affine[:, :, :2].transpose(1, 2) + affine[:, :, 2].unsqueeze(1)
    expected = Affine().grid(affine.view(3, 6), (9, 6))
    torch.testing.assert_close(tps.grid(moved.view(3, -1), (9, 6)), expected, atol=1e-10, rtol=0)


def test_tps_passes_through_its_control_points():
    tps = ThinPlateSpline(4)
    theta = near_identity(tps, 3, scale=0.2, dtype=torch.float64)
    through = tps.points(theta, _tps_centres())
    torch.testing.assert_close(through, theta.view(3, -1, 2), atol=1e-10, rtol=0)


@pytest.mark.parametrize("span", [0.5, 20 / 28, 2.0])
def test_tps_on_a_scaled_grid_is_the_scaled_spline(span):
    """The spline is equivariant under scaling (r² log r² gains only an affine term, which
    the spline's side conditions absorb): control grid, sources and points all scaled by
    ``span`` give the unit spline's map, scaled."""
    unit, scaled = ThinPlateSpline(4), ThinPlateSpline(4, span=span)
    torch.testing.assert_close(scaled.identity(torch.float64), span * unit.identity(torch.float64))
    theta = near_identity(unit, 3, scale=0.2, dtype=torch.float64)
    xy = 2.5 * torch.rand(50, 2, dtype=torch.float64) - 1.25
    torch.testing.assert_close(
        scaled.points(span * theta, span * xy), span * unit.points(theta, xy), atol=1e-10, rtol=0
    )
    through = scaled.points(theta, scaled.identity(torch.float64).view(-1, 2))
    torch.testing.assert_close(through, theta.view(3, -1, 2), atol=1e-10, rtol=0)
    with pytest.raises(ValueError, match="span must be a positive number, got 0"):
        ThinPlateSpline(4, span=0)


def test_tps_matches_scipy_thin_plate_rbf():
    """scipy's RBFInterpolator is the standard TPS (kernel r² log r, linear polynomial)."""
    interpolate = pytest.importorskip("scipy.interpolate")
    tps = ThinPlateSpline(4)
    theta = near_identity(tps, 2, scale=0.15, dtype=torch.float64)
    size = (11, 7)
    grid = tps.grid(theta, size).view(2, -1, 2)
    xy = output_coordinates(size, dtype=torch.float64).numpy()
    for b in range(2):
        rbf = interpolate.RBFInterpolator(
            _tps_centres().numpy(), theta[b].view(-1, 2).numpy(), kernel="thin_plate_spline"
        )
        torch.testing.assert_close(grid[b], torch.from_numpy(rbf(xy)), atol=1e-10, rtol=0)


def test_tps_matches_kornia_everywhere():
    """kornia's thin-plate spline (0.9.2 on: Bookstein's, its kernels centred on the points it
    fits from, as ours on the fixed grid) fitted from the grid to θ's points: the same map of
    any point, off the grid and outside the image too, and the same warped images."""
    import warnings

    tpsk = pytest.importorskip("kornia.geometry.transform")
    tps = ThinPlateSpline(4)
    centres = _tps_centres()[None].expand(2, -1, -1)
    theta = near_identity(tps, 2, scale=0.2, dtype=torch.float64)
    with warnings.catch_warnings():  # kornia's notice of which points are the kernel centres
        warnings.simplefilter("ignore", FutureWarning)
        kernel, affine = tpsk.get_tps_transform(centres, theta.view(2, -1, 2))
    xy = torch.rand(2, 50, 2, dtype=torch.float64) * 3 - 1.5
    torch.testing.assert_close(
        tpsk.warp_points_tps(xy, centres, kernel, affine), tps.points(theta, xy), atol=1e-10, rtol=0
    )
    x = torch.rand(2, 3, 10, 12, dtype=torch.float64)
    expected = tpsk.warp_image_tps(x, centres, kernel, affine, align_corners=False)
    torch.testing.assert_close(sample(x, tps.grid(theta, (10, 12))), expected, atol=1e-10, rtol=0)


def test_tps_grid_basis_is_cached_per_size():
    tps = ThinPlateSpline(4)
    theta = tps.identity()[None]
    tps.grid(theta, (6, 6))
    tps.grid(theta, (6, 6))
    tps.grid(theta, (5, 6))
    assert len(tps._grid_bases) == 2


# --- projective ----------------------------------------------------------------------------------


def test_projective_matches_kornia_homography_warp():
    warp = pytest.importorskip("kornia.geometry.transform")
    projective = build_transform("projective")
    theta = near_identity(projective, 3, scale=0.1, dtype=torch.float64)
    x = torch.rand(3, 2, 9, 13, dtype=torch.float64)
    expected = warp.homography_warp(
        x, projective.matrix(theta), (9, 13), align_corners=False, normalized_coordinates=True
    )
    torch.testing.assert_close(
        sample(x, projective.grid(theta, (9, 13))), expected, atol=1e-10, rtol=0
    )


def test_projective_denominator_is_guarded():
    """h31 = 1, h32 = 0: the denominator x + 1 vanishes on the line x = -1."""
    projective = build_transform("projective", eps=1e-3)
    theta = torch.tensor([[1.0, 0, 0, 0, 1, 0, 1, 0]], requires_grad=True)
    xy = torch.tensor([[-1.0, 0.3], [-1.0 + 1e-5, 0.0], [-1.0 - 1e-5, 0.0]])
    out = projective.points(theta, xy)
    assert torch.isfinite(out).all()
    # Just right of the line the denominator is +1e-5 → clamped to +eps; left of it, to -eps.
    assert out[0, 1, 0].item() == pytest.approx((-1 + 1e-5) / 1e-3, rel=1e-5)
    assert out[0, 2, 0].item() == pytest.approx((-1 - 1e-5) / -1e-3, rel=1e-5)
    out.sum().backward()
    assert torch.isfinite(theta.grad).all()


# --- gradients -----------------------------------------------------------------------------------


@pytest.mark.parametrize("padding_mode", ["zeros", "border"])
def test_gradcheck_through_grid_and_sampler(transform, padding_mode):
    theta = near_identity(transform, 2, scale=0.05, dtype=torch.float64).requires_grad_()
    x = torch.rand(2, 2, 6, 7, dtype=torch.float64, requires_grad=True)

    def warp(theta, x):
        return sample(x, transform.grid(theta, (5, 4)), padding_mode=padding_mode)

    assert torch.autograd.gradcheck(warp, (theta, x), eps=1e-6, atol=1e-5)


# --- precision and errors ------------------------------------------------------------------------


def test_grid_is_float32_under_bf16_autocast(transform):
    theta = near_identity(transform, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        grid = transform.grid(theta.bfloat16(), (6, 6))
    assert grid.dtype == torch.float32
    torch.testing.assert_close(grid, transform.grid(theta.bfloat16().float(), (6, 6)))


def test_wrong_theta_shape_names_the_expected_shape(transform):
    n = transform.n_params
    with pytest.raises(ValueError, match=rf"theta of shape \(B, {n}\), got \(2, {n + 1}\)"):
        transform.grid(torch.zeros(2, n + 1), (4, 4))
    with pytest.raises(ValueError, match=rf"\(B, {n}\), got \({n},\)"):
        transform.grid(torch.zeros(n), (4, 4))
    with pytest.raises(ValueError, match="size must be two positive ints"):
        transform.grid(transform.identity()[None], (0, 4))


def test_unknown_transform_lists_valid_names():
    with pytest.raises(ValueError, match="affine, projective, tps, attention"):
        build_transform("similarity")


def test_tps_grid_size_is_validated():
    assert ThinPlateSpline(3).n_params == 18
    with pytest.raises(ValueError, match="grid_size"):
        ThinPlateSpline(1)


def test_sampler_rejects_bad_modes_and_shapes():
    x, grid = torch.rand(2, 1, 4, 4), torch.zeros(2, 3, 3, 2)
    with pytest.raises(ValueError, match="sampling mode 'cubic'"):
        sample(x, grid, mode="cubic")
    with pytest.raises(ValueError, match="padding mode 'wrap'"):
        sample(x, grid, padding_mode="wrap")
    with pytest.raises(ValueError, match="equal B"):
        sample(x, torch.zeros(3, 3, 3, 2))


def test_rotation_angle_is_recoverable_from_theta():
    angle = math.radians(30)
    theta = torch.tensor(
        [[math.cos(angle), -math.sin(angle), 0, math.sin(angle), math.cos(angle), 0]]
    )
    a = Affine().matrix(theta)[0]
    assert math.degrees(math.atan2(a[1, 0], a[0, 0])) == pytest.approx(30, abs=1e-5)


# --- compilation -------------------------------------------------------------------------------


def test_grid_generator_and_sampler_compile_without_graph_breaks(transform):
    # fullgraph=True fails on any graph break; the eager backend checks that capture alone.
    torch._dynamo.reset()
    theta = near_identity(transform, 4)
    x = torch.rand(4, 3, 20, 24)

    def warp(x, theta):
        return sample(x, transform.grid(theta, (16, 18)))

    compiled = torch.compile(warp, fullgraph=True, backend="eager")
    assert torch.equal(compiled(x, theta), warp(x, theta))
    points = torch.rand(7, 2) * 2 - 1
    compiled_points = torch.compile(transform.points, fullgraph=True, backend="eager")
    assert torch.equal(compiled_points(theta, points), transform.points(theta, points))
