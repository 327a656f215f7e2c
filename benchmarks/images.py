"""embedlab's image encoder: speed against timm running the same weights, and retrieval of
augmented copies of real photographs.

    python benchmarks/images.py                 # both parts
    python benchmarks/images.py --json

Photographs: the 18 real photographs scikit-image ships in its wheel (``skimage/data``: an
astronaut, a cat, coffee, coins, a rocket, the moon, a retina, microscopy, …; public domain
or CC0, as each loader's docstring in ``skimage.data`` says; synthetic images and the
right half of its stereo pair left out), plus the image files of any --extra folder (each
file taken as a photograph). Nobody here took them. The set is built by this script in a
temporary folder; nothing is committed.

Speed (one process, 2 torch threads, batch 32, 3 alternating rounds, median):

* ``model``: the network alone on the same preprocessed 224x224 batch: embedlab's
  ``ImageEncoder.features`` against timm's ``efficientnet_lite0`` holding the same weights,
  run the way timm's README shows (``model.eval()``, ``torch.no_grad()``,
  ``forward_features`` then pooling).
* ``files``: JPEG files to vectors: embedlab's ``encode_files`` (decodes JPEGs at a
  reduced DCT scale when that still leaves a 256-pixel short side) against Pillow's full
  decode plus the same resize/crop and timm's model.

Retrieval: the originals are indexed into an embedlab collection; each is queried by
--copies augmented copies each (random crops keeping 60-90% of each side, horizontal
flips, JPEG recompression at quality 30-70, brightness/contrast/saturation shifts of up
to 15%, and a mix of all of them, seeded); recall@1 = the share of copies whose nearest
stored image is their original. A control row gives the same for 16x16 raw pixels.
Nothing is tuned, so there is no dev/test split. Target (issue 15): recall@1 >= 0.95 and
at least timm's images/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance

SKIMAGE_PHOTOS = [
    *("astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "coffee.png"),
    *("coins.png", "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png"),
    *("microaneurysms.png", "moon.png", "motorcycle_left.png", "page.png", "retina.jpg"),
    *("rocket.jpg", "text.png"),
]


def photographs(extra: list[Path]) -> list[Path]:
    """scikit-image's real photographs, then the images of the --extra folders."""
    import skimage.data

    root = Path(skimage.data.__file__).parent
    found = [root / name for name in SKIMAGE_PHOTOS if (root / name).is_file()]
    for folder in extra:
        found.extend(
            file
            for file in sorted(folder.rglob("*"))
            if file.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")
        )
    return found


def augment(image: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    """One augmented copy: crop, flip, jpeg, colour, or all of them."""
    out = image
    if kind in ("crop", "mix"):
        width, height = out.size
        fx, fy = rng.uniform(0.6, 0.9, size=2)
        w, h = int(width * fx), int(height * fy)
        left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        out = out.crop((left, top, left + w, top + h))
    if kind in ("flip", "mix"):
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if kind in ("colour", "mix"):
        for enhance in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
            out = enhance(out).enhance(float(rng.uniform(0.85, 1.15)))
    if kind in ("jpeg", "mix"):
        import io

        buffer = io.BytesIO()
        out.save(buffer, format="JPEG", quality=int(rng.integers(30, 71)))
        out = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return out


KINDS = ("crop", "flip", "jpeg", "colour", "mix")


def build_set(
    folder: Path, copies: int, seed: int, extra: list[Path]
) -> tuple[list[Path], list[tuple[Path, int, str]]]:
    """Originals (re-saved as JPEG, upright RGB) and their augmented copies."""
    rng = np.random.default_rng(seed)
    originals: list[Path] = []
    queries: list[tuple[Path, int, str]] = []
    for number, source in enumerate(photographs(extra)):
        image = Image.open(source).convert("RGB")
        original = folder / "originals" / f"{number:03d}.jpg"
        original.parent.mkdir(parents=True, exist_ok=True)
        image.save(original, quality=95)
        originals.append(original)
        for c in range(copies):
            kind = KINDS[c % len(KINDS)]
            path = folder / "copies" / f"{number:03d}-{c}-{kind}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            augment(image, kind, rng).save(path, quality=95)
            queries.append((path, number, kind))
    return originals, queries


def speed(files: list[Path], rounds: int) -> dict[str, Any]:
    """Images/s of embedlab and timm, on the model alone and from files."""
    import torch

    from embedlab.encoders._images import preprocess
    from embedlab.encoders._timm import BN_EPS, import_timm, weights_path
    from embedlab.encoders.image import IMAGENET_MEAN, IMAGENET_STD, ImageEncoder

    torch.set_num_threads(2)
    ours = ImageEncoder()
    timm_model = import_timm().efficientnet_lite0(pretrained=False)
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    timm_model.load_state_dict(dict(zip(timm_model.state_dict(), state.values(), strict=True)))
    for module in timm_model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eps = BN_EPS
    timm_model.eval()
    batch_files = files[:32]
    batch = ours.pixels([Image.open(f).convert("RGB") for f in batch_files])

    def timm_features(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return timm_model.forward_features(torch.from_numpy(x)).mean(dim=(2, 3)).numpy()

    def timm_files() -> np.ndarray:
        images = [Image.open(f).convert("RGB") for f in batch_files]
        x = preprocess(images, size=224, crop_pct=0.875, mean=IMAGENET_MEAN, std=IMAGENET_STD)
        return timm_features(x)

    def ours_files() -> np.ndarray:
        return ours.encode_files(batch_files).vectors

    runs = {
        "model": {"embedlab": lambda: ours.features(batch), "timm": lambda: timm_features(batch)},
        "files": {"embedlab": ours_files, "timm": timm_files},
    }
    out: dict[str, Any] = {}
    for part, systems in runs.items():
        for fn in systems.values():
            fn()  # warm up
        times: dict[str, list[float]] = {name: [] for name in systems}
        for r in range(rounds):
            order = list(systems) if r % 2 == 0 else list(reversed(systems))
            for name in order:
                began = time.perf_counter()
                systems[name]()
                times[name].append(time.perf_counter() - began)
        rates = {name: len(batch_files) / statistics.median(t) for name, t in times.items()}
        out[part] = {**rates, "ratio": rates["embedlab"] / rates["timm"]}
    diff = float(np.abs(ours.features(batch) - timm_features(batch)).max())
    out["max_abs_difference"] = diff
    return out


def retrieval(
    folder: Path, originals: list[Path], queries: list[tuple[Path, int, str]]
) -> dict[str, Any]:
    """recall@1 of the original for each augmented copy, embedlab vs a raw-pixel control."""
    from embedlab.encoders import load
    from embedlab.image_search import search_image
    from embedlab.ingest import index_images
    from embedlab.store import Database

    encoder: Any = load("efficientnet-lite0")
    began = time.perf_counter()
    report = index_images([folder / "originals"], folder / "db", "photos", encoder)
    index_seconds = time.perf_counter() - began
    hits: dict[str, list[bool]] = {kind: [] for kind in KINDS}
    with Database(folder / "db") as db:
        col = db.get_collection("photos")
        for path, number, kind in queries:
            top = search_image(col, path, encoder=encoder, k=1)[0]
            hits[kind].append(top.metadata["path"] == str(originals[number].resolve()))

    def pixels(path: Path) -> np.ndarray:
        row = np.asarray(Image.open(path).convert("RGB").resize((16, 16)), np.float32).ravel()
        row = row - row.mean()
        return row / (np.linalg.norm(row) + 1e-9)

    stored = np.stack([pixels(p) for p in originals])
    control: dict[str, list[bool]] = {kind: [] for kind in KINDS}
    for path, number, kind in queries:
        control[kind].append(int(np.argmax(stored @ pixels(path))) == number)
    return {
        "originals": len(originals),
        "copies": len(queries),
        "indexed": report.files_indexed,
        "index_seconds": index_seconds,
        "recall_at_1": float(np.mean([h for v in hits.values() for h in v])),
        "by_kind": {kind: float(np.mean(v)) for kind, v in hits.items()},
        "pixels_recall_at_1": float(np.mean([h for v in control.values() for h in v])),
        "pixels_by_kind": {kind: float(np.mean(v)) for kind, v in control.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10, help="Augmented copies per photo.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--extra", type=Path, nargs="*", default=[], help="More photo folders.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        originals, queries = build_set(folder, args.copies, args.seed, args.extra)
        results = {
            "speed": speed(originals, args.rounds),
            "retrieval": retrieval(folder, originals, queries),
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    s, r = results["speed"], results["retrieval"]
    for part in ("model", "files"):
        print(
            f"{part:6} embedlab {s[part]['embedlab']:7.1f} img/s   timm {s[part]['timm']:7.1f} "
            f"img/s   ratio {s[part]['ratio']:.2f}x"
        )
    print(f"max |embedlab - timm| feature difference: {s['max_abs_difference']:.2e}")
    print(
        f"retrieval: {r['originals']} photographs, {r['copies']} augmented copies: recall@1 "
        f"{r['recall_at_1']:.3f} (16x16 pixels control {r['pixels_recall_at_1']:.3f})"
    )
    for kind in KINDS:
        print(f"  {kind:7} {r['by_kind'][kind]:.3f}   pixels {r['pixels_by_kind'][kind]:.3f}")


if __name__ == "__main__":
    main()
