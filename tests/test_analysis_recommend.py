"""embedlab.analysis.recommend: item2vec on planted co-occurrence, held-out evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlab.analysis.recommend import (
    ItemModel,
    context_ranker,
    evaluate,
    holdout_split,
    item2vec,
    item2vec_model,
    popularity_ranker,
    recommend,
    vector_ranker,
)
from embedlab.errors import CorpusError, InvalidParameterError, MissingFileError
from embedlab.train import Word2Vec
from embedlab.vectors import WordVectors


def _baskets(n: int = 600, seed: int = 0) -> list[list[str]]:
    """Four planted groups of 8 items; each basket draws 3-5 items from one group.

    Group 0 is also the most popular, so a popularity baseline does well only there.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        g = int(rng.choice(4, p=[0.4, 0.2, 0.2, 0.2]))
        size = int(rng.integers(3, 6))
        out.append([f"g{g}-item {j}" for j in rng.choice(8, size=size, replace=False)])
    return out


def test_item2vec_recovers_planted_groups() -> None:
    wv = item2vec(_baskets(), dim=16, epochs=10, seed=3)
    assert len(wv) == 32 and "g1-item 3" in wv  # ids with spaces and dashes survive
    for key in wv.keys:
        group = key.split("-")[0]
        near = [n.key for n in wv.most_similar(key, k=7)]
        assert sum(n.startswith(group) for n in near) >= 6, (key, near)


def test_recommend_excludes_seen_items_and_stays_in_group() -> None:
    wv = item2vec(_baskets(), dim=16, epochs=10, seed=3)
    seen = ["g2-item 0", "g2-item 1"]
    recs = recommend(wv, seen, k=5)
    assert len(recs) == 5 and not set(seen) & {r.key for r in recs}
    assert all(r.key.startswith("g2") for r in recs)
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)


def test_item2vec_beats_popularity_on_held_out_items() -> None:
    h = holdout_split(_baskets(seed=1), seed=0)
    wv = item2vec(h.train, dim=16, epochs=10, seed=3)
    ours = evaluate(vector_ranker(wv), h, k=5)
    pop = evaluate(popularity_ranker(h.train), h, k=5)
    assert ours.users == pop.users == len(h.held)
    assert ours.hit_rate > 0.9 > pop.hit_rate
    assert 0 < ours.ndcg <= ours.hit_rate


def test_context_ranker_recovers_planted_groups_and_beats_popularity() -> None:
    h = holdout_split(_baskets(seed=1), seed=0)
    model = item2vec_model(h.train, dim=16, epochs=10, seed=3)
    assert model.context.shape == model.vectors.vectors.shape
    assert not np.array_equal(model.context, model.vectors.vectors)  # the output table
    ours = evaluate(context_ranker(model), h, k=5)
    pop = evaluate(popularity_ranker(h.train), h, k=5)
    assert ours.hit_rate > 0.9 > pop.hit_rate
    recs = recommend(model, ["g3-item 0", "g3-item 5"], k=5)
    assert all(r.key.startswith("g3") for r in recs), recs


def test_context_ranker_scores_by_hand() -> None:
    # the user has "a" (input [1, 0]): logits b 0, c 0.5, d -1; counts 100, 10, 1
    wv = WordVectors(["a", "b", "c", "d"], np.array([[1, 0], [0, 1], [1, 1], [2, 0]]),
                     counts=[1, 100, 10, 1])  # fmt: skip
    model = ItemModel(wv, np.array([[1, 0], [0, 1], [0.5, 0.5], [-1, 0]], dtype=np.float32))
    assert context_ranker(model, prior=0.0)([["a"]], 3) == [["c", "b", "d"]]
    assert context_ranker(model, prior=1.0)([["a"]], 3) == [["b", "c", "d"]]
    recs = recommend(model, ["a"], k=2, prior=1.0)
    assert [r.key for r in recs] == ["b", "c"]
    np.testing.assert_allclose([r.score for r in recs], [np.log(100), 0.5 + np.log(10)], rtol=1e-6)
    with pytest.raises(InvalidParameterError, match="'prior'"):
        context_ranker(model, prior=-1.0)


def test_item_model_saves_both_tables(tmp_path: Path) -> None:
    model = item2vec_model(_baskets(n=100), dim=8, epochs=2, seed=3)
    model.save(tmp_path / "m")
    back = ItemModel.load(tmp_path / "m")
    assert back.vectors.keys == model.vectors.keys
    np.testing.assert_array_equal(back.context, model.context)
    np.testing.assert_array_equal(back.vectors.counts, model.vectors.counts)
    model.vectors.save(tmp_path / "plain")
    with pytest.raises(MissingFileError, match=r"output_vectors\.npy"):
        ItemModel.load(tmp_path / "plain")


def test_metrics_by_hand() -> None:
    h = holdout_split([["a", "b"], ["a", "c"], ["d", "e"]], seed=0)

    def fixed(users: object, k: int) -> list[list[str]]:
        return [[h.held[0], "x"], ["x", h.held[1]], ["x", "y"]]

    res = evaluate(fixed, h, k=2)
    assert res.hit_rate == pytest.approx(2 / 3)
    assert res.ndcg == pytest.approx((1 + 1 / np.log2(3)) / 3)


def test_ns_exponent_reaches_the_kernel() -> None:
    corpus = ["a b c d e f a a a b"] * 50
    base = Word2Vec(dim=8, min_count=1, epochs=1, threads=1, seed=1).train(corpus)
    flat = Word2Vec(dim=8, min_count=1, epochs=1, threads=1, seed=1, ns_exponent=0.0).train(corpus)
    assert not np.array_equal(base.vectors, flat.vectors)
    with pytest.raises(InvalidParameterError, match="ns_exponent"):
        Word2Vec(ns_exponent="high")


def test_bad_baskets() -> None:
    with pytest.raises(CorpusError, match="two or more items"):
        item2vec([["a"], ["b"]])
    with pytest.raises(InvalidParameterError, match="list of item ids, got the string"):
        item2vec(["a b c"])
    with pytest.raises(InvalidParameterError, match="two or more items"):
        holdout_split([["a"]])
