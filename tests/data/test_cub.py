"""CUB-200-2011: metadata on the real subset and broken copies, images, splits, the crops'
initial spread, the networks, and every Table 3 experiment end to end (random weights)."""

import shutil

import pytest
import torch
import torchvision
from helpers import compose

from stn.data.cub import CUB200, CUBImages, load_image, stratified_split
from stn.data.cub_metadata import FILES, read_cub_metadata
from stn.models.cub import PartClassifier, build_cub_model, inception
from stn.nn import TRANSFORMS, build_transform
from stn.nn.crops import crop_theta, spread_centres
from stn.nn.transforms.base import output_coordinates
from stn.train import train


def test_metadata_of_the_real_subset(cub_root):
    meta = read_cub_metadata(cub_root)
    assert len(meta.ids) == 543 and int(meta.train.sum()) == 300
    assert meta.labels.unique().tolist() == list(range(10)) and len(meta.classes) == 200
    assert meta.classes[0] == "001.Black_footed_Albatross"
    assert int(meta.ids[0]) == 1 and meta.paths[0].name == "Black_Footed_Albatross_0046_18.jpg"
    assert meta.boxes[0].tolist() == [60.0, 27.0, 325.0, 304.0]
    assert not meta.train[0] and meta.train[1]  # train_test_split.txt: "1 0", "2 1"
    assert all(p.exists() for p in meta.paths)


def _copy(cub_root, tmp_path):
    root = tmp_path / "CUB_200_2011"
    root.mkdir(parents=True)
    (root / "images").symlink_to(cub_root / "images")
    for name in (*FILES, "classes.txt"):
        shutil.copy(cub_root / name, root / name)
    return root


def _edit(path, edit):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(edit(lines)))


def test_broken_copies_name_the_file_and_line(cub_root, tmp_path):
    root = _copy(cub_root, tmp_path)
    _edit(root / "image_class_labels.txt", lambda lines: lines[:4] + lines[5:])
    with pytest.raises(ValueError, match=r"image_class_labels\.txt: no line for image id 5 "):
        read_cub_metadata(root)
    root = _copy(cub_root, tmp_path / "b")
    _edit(root / "bounding_boxes.txt", lambda lines: [*lines[:2], "99999 1 2 3 4\n", *lines[2:]])
    with pytest.raises(ValueError, match=r"bounding_boxes\.txt:3: image id 99999 is not in"):
        read_cub_metadata(root)
    root = _copy(cub_root, tmp_path / "c")
    _edit(root / "train_test_split.txt", lambda lines: [lines[0], "2\n", *lines[2:]])
    with pytest.raises(ValueError, match=r"train_test_split\.txt:2: expected 2 fields"):
        read_cub_metadata(root)
    root = _copy(cub_root, tmp_path / "d")
    _edit(root / "bounding_boxes.txt", lambda lines: ["1 60.0 27.0 wide 304.0\n", *lines[1:]])
    with pytest.raises(ValueError, match=r"bounding_boxes\.txt:1: expected numbers"):
        read_cub_metadata(root)
    (root / "images.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"images\.txt is missing: extract CUB_200_2011"):
        read_cub_metadata(root)


def test_images_grayscale_boxes_and_flips(cub_root):
    gray = next((cub_root / "images").rglob("Brewer_Blackbird_0028_2682.jpg"))
    image, size = load_image(gray, 64)
    assert image.shape == (3, 64, 64) and size == (500, 333)
    assert torch.equal(image[0], image[1]) and torch.equal(image[1], image[2])
    data = CUB200(data_dir=str(cub_root.parent), cache_dir="", size=64, batch_size=8, val_size=30)
    data.setup()
    x, y, box = data.sets["test"][0]  # image 1: 500×? px, box (60, 27) + (325, 304)
    meta = data.sets["test"].meta
    width, height = load_image(meta.paths[0], 8)[1]
    expected = torch.tensor([60 / width, 27 / height, 385 / width, 331 / height]) * 2 - 1
    torch.testing.assert_close(box, expected)
    assert x.shape == (3, 64, 64) and x.dtype == torch.uint8 and int(y) == 0
    train = data.sets["train"]
    plain = CUBImages(train.meta, train.rows, 64, flip=False)[0]
    seen = set()
    for _ in range(20):
        x, _, box = train[0]
        if torch.equal(x, plain[0]):
            seen.add("as is")
            assert torch.equal(box, plain[2])
        else:
            seen.add("flipped")
            assert torch.equal(x, plain[0].flip(-1))
            torch.testing.assert_close(box, plain[2][[2, 1, 0, 3]] * torch.tensor([-1, 1, -1, 1]))
    assert seen == {"as is", "flipped"}


def test_validation_split_is_stratified_and_seeded():
    labels = torch.tensor([0] * 30 + [1] * 29 + [2] * 2)
    train, val = stratified_split(labels, 6, seed=0)
    assert sorted(torch.cat((train, val)).tolist()) == list(range(61))
    assert torch.bincount(labels[val]).tolist() == [3, 3, 1]
    assert torch.equal(stratified_split(labels, 6, seed=0)[1], val)
    assert not torch.equal(stratified_split(labels, 6, seed=1)[1], val)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_crops_start_spread_over_the_image(name):
    transform = build_transform(name)
    centres = spread_centres(4)
    assert len({tuple(c.tolist()) for c in centres.round(decimals=6)}) == 4
    theta = crop_theta(transform, 0.5, centres)
    xy = output_coordinates((5, 5))
    for t, c in zip(theta, centres, strict=True):
        torch.testing.assert_close(
            transform.points(t[None], xy)[0], 0.5 * xy + c, atol=1e-5, rtol=0
        )


def test_networks_and_their_initial_crops():
    cnn = build_cub_model(pretrained=False, transform="none", num_classes=10)
    assert cnn.transformers == [] and cnn(torch.rand(2, 3, 64, 64)).shape == (2, 10)
    st = build_cub_model(pretrained=False, transform="attention", n=4, crop=32, num_classes=10)
    assert len(st.parts) == 4 and st.classifier[1].in_features == 4 * 1024
    assert st(torch.rand(2, 3, 64, 64)).shape == (2, 10)
    theta = st.transformer.theta  # (2, 4, 3): the same start for every image, 4 distinct crops
    assert torch.equal(theta[0], theta[1]) and len(set(map(tuple, theta[0].tolist()))) == 4
    torch.testing.assert_close(theta[0, :, 0], torch.full((4,), 0.5))
    # The part nets start alike but are separate modules, trained apart.
    assert st.parts[0] is not st.parts[1]
    with pytest.raises(ValueError, match="unknown backbone 'resnet50'; valid: googlenet"):
        inception("resnet50", False)
    with pytest.raises(ValueError, match="one part net per ST"):
        PartClassifier(None, st.transformer, st.parts[:3], 10, 0.5)


def test_imagenet_weights_from_the_cache_and_offline_without(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = torchvision.models.GoogLeNet_Weights.DEFAULT
    cache = tmp_path / "hub" / "checkpoints" / weights.url.rsplit("/", 1)[1]
    with pytest.raises(RuntimeError, match=rf"{cache}.*model\.pretrained=false"):
        monkeypatch.setattr(torch.hub, "download_url_to_file", _offline)
        inception("googlenet", True)
    # A cached file (here: random weights in ImageNet's layout) is loaded, not downloaded.
    reference = torchvision.models.googlenet(aux_logits=True, init_weights=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(reference.state_dict(), cache)
    net = inception("googlenet", True)
    torch.testing.assert_close(net.conv1.conv.weight, reference.conv1.conv.weight)
    assert net.aux1 is None and net.out_features == 1024


def _offline(*args, **kwargs):
    import urllib.error

    raise urllib.error.URLError("no network")


SMALL = [
    "model.pretrained=false",
    "data.size=64",
    "model.crop=32",
    "schedule.batch_size=4",
    "data.workers=0",
]


@pytest.mark.parametrize(
    "overrides",
    [
        ["experiment=cub_cnn"],
        ["experiment=cub_2x"],
        ["experiment=cub_4x"],
        ["experiment=cub_2x", "stn=tps", "stn.n=2"],
        # inception_v3 takes at least 75 px
        ["experiment=cub_2x", "model.backbone=inception_v3", "data.size=96", "model.crop=80"],
    ],
    ids=lambda o: ",".join(o),
)
def test_fast_dev_run_on_the_real_subset(cub_root, tmp_path, overrides):
    cfg = compose([*SMALL, *overrides, "trainer.fast_dev_run=true"], tmp_path)
    cfg.paths.data_dir = str(cub_root.parent)
    assert 0 <= train(cfg) <= 100


def test_tensorboard_shows_crops_and_how_often_they_hit_the_bird(cub_root, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    short = [
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=1",
        "+trainer.limit_val_batches=2",
    ]
    cfg = compose(["experiment=cub_2x", *SMALL, *short, "test=false"], tmp_path)
    cfg.paths.data_dir = str(cub_root.parent)
    train(cfg)
    events = EventAccumulator(str(tmp_path / "out" / "tensorboard")).Reload()
    tags = events.Tags()
    assert {"st0/input_grid_output", "st1/input_grid_output"} <= set(tags["images"])
    assert {"val/st0_in_box", "val/st1_in_box"} <= set(tags["scalars"])
    inside = [events.Scalars(f"val/st{k}_in_box")[-1].value for k in (0, 1)]
    assert all(0 <= v <= 100 for v in inside)


def test_loaders_batch_every_image_once_in_a_seeded_order(cub_root):
    data = CUB200(
        data_dir=str(cub_root.parent), cache_dir="", size=32, batch_size=64, workers=1, val_size=30
    )
    data.setup()
    train = list(data.train_dataloader())
    assert sum(len(y) for _, y, _ in train) == len(data.sets["train"])
    assert train[0][0].dtype == torch.uint8 and train[0][0].shape[1:] == (3, 32, 32)
    again = [y for _, y, _ in data.train_dataloader()]
    assert all(torch.equal(a, b) for a, (_, b, _) in zip(again, train, strict=True))
    test = torch.cat([y for _, y, _ in data.test_dataloader()])
    assert torch.equal(test, data.sets["test"].meta.labels[data.sets["test"].rows])


def test_unreadable_images_are_named_before_any_training(cub_root, tmp_path):
    """A missing, an empty, a truncated and a non-JPEG image: all named at setup, before a
    loader worker would meet them mid-epoch (or the test set after all of training)."""
    root = tmp_path / "CUB_200_2011"
    shutil.copytree(cub_root, root)
    meta = read_cub_metadata(root)
    missing, empty, cut, text = meta.paths[0], meta.paths[1], meta.paths[2], meta.paths[-1]
    missing.unlink()
    empty.write_bytes(b"")
    cut.write_bytes(cut.read_bytes()[:-2048])  # the header whole, the end gone
    text.write_text("not an image")
    data = CUB200(data_dir=str(tmp_path), cache_dir="", size=64, batch_size=8, val_size=30)
    with pytest.raises(ValueError) as err:
        data.setup("fit")
    message = str(err.value)
    assert message.startswith("4 of the 543 CUB images this run reads cannot be read: ")
    for path, why in [
        (missing, "missing"),
        (empty, "empty"),
        (cut, "a JPEG cut short (no end marker)"),
        (text, "not a readable image"),
    ]:
        assert f"{path}: {why}" in message
    assert message.endswith("Re-extract CUB_200_2011.tgz (python -m stn.data.download cub)")
