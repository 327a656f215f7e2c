"""WordVectors queries against brute-force numpy (and gensim where it applies)."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.errors import DimensionMismatchError, InvalidParameterError, UnknownKeyError
from embedlab.vectors import Neighbor, WordVectors

N, DIM = 60, 8


@pytest.fixture
def matrix() -> np.ndarray:
    return np.random.default_rng(42).normal(size=(N, DIM)).astype(np.float32)


@pytest.fixture
def wv(matrix) -> WordVectors:
    return WordVectors([f"w{i:02d}" for i in range(N)], matrix)


def unit64(m: np.ndarray) -> np.ndarray:
    m = m.astype(np.float64)
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


def brute_force(
    m: np.ndarray, pos: list[int], neg: list[int], k: int, metric: str, limit: int = N
) -> list[tuple[str, float]]:
    """Score every row in float64 and sort, leaving out the input rows."""
    raw = m.astype(np.float64)[:limit]
    if metric == "cosine":
        u = unit64(m)
        query = unit64(u[pos].sum(axis=0) - u[neg].sum(axis=0))
        scores, best_first = u[:limit] @ query, -1
    else:
        query = m.astype(np.float64)[pos].sum(axis=0) - m.astype(np.float64)[neg].sum(axis=0)
        if metric == "dot":
            scores, best_first = raw @ query, -1
        elif metric == "euclidean":
            scores, best_first = np.linalg.norm(raw - query, axis=1), 1
        else:
            scores, best_first = np.abs(raw - query).sum(axis=1), 1
    order = [i for i in np.argsort(best_first * scores) if i not in set(pos) | set(neg)]
    return [(f"w{i:02d}", float(scores[i])) for i in order[:k]]


def assert_same(got: list[Neighbor], expected: list[tuple[str, float]]) -> None:
    assert [n.key for n in got] == [key for key, _ in expected]
    np.testing.assert_allclose(
        [n.score for n in got], [s for _, s in expected], rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean", "manhattan"])
@pytest.mark.parametrize(
    ("pos", "neg"), [([3], []), ([3, 17], []), ([3, 17], [40]), ([], [5])], ids=str
)
def test_most_similar_matches_brute_force(wv, matrix, metric, pos, neg) -> None:
    got = wv.most_similar(
        [f"w{i:02d}" for i in pos], [f"w{i:02d}" for i in neg], k=7, metric=metric
    )
    assert_same(got, brute_force(matrix, pos, neg, 7, metric))


def test_most_similar_results_are_tuples(wv) -> None:
    result = wv.most_similar("w01", k=3)
    assert len(result) == 3
    key, score = result[0]
    assert isinstance(result[0], tuple)
    assert isinstance(key, str)
    assert isinstance(score, float)
    assert result[0] == Neighbor(key=key, score=score)
    assert [n.score for n in result] == sorted((n.score for n in result), reverse=True)


def test_single_key_equals_list_of_one(wv) -> None:
    assert wv.most_similar("w09", k=5) == wv.most_similar(["w09"], k=5)
    assert wv.most_similar(positive=("w09",), negative="w10", k=5) == wv.most_similar(
        ["w09"], ["w10"], k=5
    )


def test_input_keys_are_excluded(wv) -> None:
    inputs = {"w00", "w01", "w02"}
    result = wv.most_similar(["w00", "w01"], ["w02"], k=N)
    assert len(result) == N - 3
    assert inputs.isdisjoint(n.key for n in result)
    assert len({n.key for n in result}) == N - 3


def test_raw_vector_queries(wv, matrix) -> None:
    # a vector is not a key: the row it equals is not excluded, as in gensim
    result = wv.most_similar(positive=[matrix[4]], k=3)
    assert result[0].key == "w04"
    assert result[0].score == pytest.approx(1.0, abs=1e-6)
    # a raw vector and a key combine like two keys
    mixed = wv.most_similar(positive=["w03", matrix[17]], negative=["w40"], k=N)
    by_key = wv.most_similar(positive=["w03", "w17"], negative=["w40"], k=N)
    assert len(mixed) == N - 2
    assert_same([n for n in mixed if n.key != "w17"], by_key)
    # a single 1-D vector is accepted without a list around it
    assert wv.most_similar(matrix[4], k=2) == result[:2]
    dist = wv.most_similar(matrix[4] * 2, k=1, metric="euclidean")
    assert dist[0].key == "w04"
    assert dist[0].score == pytest.approx(float(np.linalg.norm(matrix[4])), rel=1e-5)


def test_restrict_vocab(wv, matrix) -> None:
    got = wv.most_similar("w03", k=50, restrict_vocab=20)
    assert len(got) == 19
    assert all(int(n.key[1:]) < 20 for n in got)
    assert_same(got, brute_force(matrix, [3], [], 50, "cosine", limit=20))
    got = wv.most_similar("w03", k=5, metric="euclidean", restrict_vocab=20)
    assert_same(got, brute_force(matrix, [3], [], 5, "euclidean", limit=20))
    # a key outside the searched rows may still be a query term
    assert all(n.key != "w50" for n in wv.most_similar("w50", k=5, restrict_vocab=10))
    assert wv.most_similar("w03", k=3, restrict_vocab=10_000) == wv.most_similar("w03", k=3)
    with pytest.raises(InvalidParameterError, match="restrict_vocab"):
        wv.most_similar("w03", restrict_vocab=0)


def test_most_similar_agrees_with_gensim(wv, matrix) -> None:
    keyed_vectors = pytest.importorskip("gensim.models").KeyedVectors
    kv = keyed_vectors(DIM)
    kv.add_vectors(wv.keys, matrix)
    theirs = kv.most_similar(positive=["w03", "w17"], negative=["w40"], topn=8)
    ours = wv.most_similar(positive=["w03", "w17"], negative=["w40"], k=8)
    assert [n.key for n in ours] == [key for key, _ in theirs]
    np.testing.assert_allclose([n.score for n in ours], [s for _, s in theirs], atol=1e-5)
    words = ["w01", "w02", "w03", "w04", "w05"]
    assert wv.doesnt_match(words) == kv.doesnt_match(words)


@pytest.mark.parametrize("k", [0, -3])
def test_k_must_be_positive(wv, k) -> None:
    with pytest.raises(InvalidParameterError, match=r"'k'.*Got"):
        wv.most_similar("w01", k=k)
    with pytest.raises(InvalidParameterError, match="'k'"):
        wv.analogy("w01", "w02", "w03", k=k)
    with pytest.raises(InvalidParameterError, match="'k'"):
        wv.analogy("w01", "w02", "w03", k=k, method="mul")


def test_empty_query_is_an_error(wv) -> None:
    with pytest.raises(InvalidParameterError, match="at least one"):
        wv.most_similar()
    with pytest.raises(InvalidParameterError):
        wv.most_similar([], [])


def test_bad_query_terms(wv) -> None:
    with pytest.raises(DimensionMismatchError, match=r"\(8,\).*\(3,\)"):
        wv.most_similar(np.ones(3))
    with pytest.raises(InvalidParameterError, match="float"):
        wv.most_similar([0.5] * DIM)
    with pytest.raises(InvalidParameterError, match="'metric'"):
        wv.most_similar("w01", metric="hamming")
    with pytest.raises(InvalidParameterError, match="'cosine'"):
        wv.most_similar("w01", metric="jaccard")


def test_unknown_key_is_a_key_error_with_suggestions() -> None:
    animals = WordVectors(["king", "queen", "prince"], np.eye(3, dtype=np.float32))
    with pytest.raises(KeyError) as caught:
        animals.most_similar(["king", "qeen"])
    err = caught.value
    assert isinstance(err, UnknownKeyError)
    assert err.key == "qeen"
    assert "'qeen'" in str(err)
    assert "did you mean 'queen'" in str(err)
    with pytest.raises(UnknownKeyError, match=r"'kingg'.*'king'"):
        animals.similarity("queen", "kingg")
    with pytest.raises(UnknownKeyError, match="'xyz'"):
        animals.analogy("king", "queen", "xyz", method="mul")


def test_similarity(wv, matrix) -> None:
    u = unit64(matrix)
    assert wv.similarity("w05", "w09") == pytest.approx(float(u[5] @ u[9]), abs=1e-6)
    assert wv.similarity("w09", "w05") == wv.similarity("w05", "w09")
    assert wv.similarity("w05", "w05") == pytest.approx(1.0, abs=1e-6)
    assert isinstance(wv.similarity("w05", "w09"), float)
    with_zero = WordVectors(["a", "zero"], [[1.0, 2.0], [0.0, 0.0]])
    assert with_zero.similarity("a", "zero") == 0.0
    assert with_zero.unit_vectors[1].tolist() == [0.0, 0.0]


def test_analogy_add_is_3cosadd(wv, matrix) -> None:
    got = wv.analogy("w01", "w02", "w03", k=4)
    assert_same(got, brute_force(matrix, [2, 3], [1], 4, "cosine"))
    assert len(wv.analogy("w01", "w02", "w03")) == 1
    limited = wv.analogy("w01", "w02", "w03", k=4, restrict_vocab=25)
    assert_same(limited, brute_force(matrix, [2, 3], [1], 4, "cosine", limit=25))


def test_analogy_mul_is_3cosmul(wv, matrix) -> None:
    u = unit64(matrix)
    shifted = (u @ u[[1, 2, 3]].T + 1) / 2
    scores = shifted[:, 1] * shifted[:, 2] / (shifted[:, 0] + 1e-3)
    order = [i for i in np.argsort(-scores) if i not in (1, 2, 3)]
    got = wv.analogy("w01", "w02", "w03", k=5, method="mul")
    assert_same(got, [(f"w{i:02d}", float(scores[i])) for i in order[:5]])
    limited = wv.analogy("w01", "w02", "w03", k=5, method="MUL", restrict_vocab=30)
    assert_same(limited, [(f"w{i:02d}", float(scores[i])) for i in order if i < 30][:5])


def test_analogy_on_a_toy_space() -> None:
    toy = WordVectors(
        ["man", "king", "woman", "queen", "apple", "pear"],
        [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1], [0.1, 0, 0, 1]],
    )
    for method in ("add", "mul"):
        answer = toy.analogy("man", "king", "woman", method=method)
        assert [n.key for n in answer] == ["queen"]
    results = toy.analogy("man", "king", "woman", k=10)
    assert {n.key for n in results} == {"queen", "apple", "pear"}
    with pytest.raises(InvalidParameterError, match=r"'method'.*'add', 'mul'"):
        toy.analogy("man", "king", "woman", method="pairdirection")


def test_doesnt_match_matches_brute_force(wv, matrix) -> None:
    rng = np.random.default_rng(7)
    for _ in range(10):
        rows = rng.choice(N, size=5, replace=False)
        u = unit64(matrix[rows])
        mean = u.mean(axis=0)
        expected = f"w{rows[int(np.argmin(u @ (mean / np.linalg.norm(mean))))]:02d}"
        assert wv.doesnt_match([f"w{i:02d}" for i in rows]) == expected


def test_doesnt_match_ignores_unknown_words_and_needs_two() -> None:
    toy = WordVectors(["cat", "dog", "mouse", "car"], [[1, 0.1], [1, 0.2], [0.9, 0], [-0.2, 1]])
    assert toy.doesnt_match(["cat", "dog", "car", "mouse"]) == "car"
    assert toy.doesnt_match(iter(["cat", "dog", "nope", "car", "mouse"])) == "car"
    with pytest.raises(InvalidParameterError, match="at least 2 known words"):
        toy.doesnt_match(["cat", "nope"])
    with pytest.raises(InvalidParameterError):
        toy.doesnt_match([])
    with pytest.raises(InvalidParameterError, match="list of words"):
        toy.doesnt_match("cat dog car")


def test_constructor_rejects_duplicate_keys() -> None:
    with pytest.raises(InvalidParameterError, match="'b' appears more than once"):
        WordVectors(["a", "b", "c", "b"], np.zeros((4, 2)))


def test_constructor_rejects_shape_mismatches() -> None:
    with pytest.raises(DimensionMismatchError, match=r"keys \(2\).*vectors \(3\)"):
        WordVectors(["a", "b"], np.zeros((3, 2)))
    with pytest.raises(DimensionMismatchError, match="2-D"):
        WordVectors(["a", "b"], np.zeros(2))
    with pytest.raises(DimensionMismatchError, match="counts"):
        WordVectors(["a", "b"], np.zeros((2, 2)), counts=[1, 2, 3])
    ok = WordVectors(["a", "b"], np.zeros((2, 2), dtype=np.float64), counts=[5, 3])
    assert ok.vectors.dtype == np.float32
    assert ok.counts is not None
    assert ok.counts.tolist() == [5, 3]
