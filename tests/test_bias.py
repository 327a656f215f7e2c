"""embedlab.bias: WEAT against hand values and an independent reference, exact p-values,
SEAT, bias directions, hard debiasing and the hidden-bias check."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from embedlab.bias import (
    BiasDirection,
    WeatTest,
    WordSet,
    bias_direction,
    compare_weat,
    direct_bias,
    hard_debias,
    hidden_bias,
    read_word_sets,
    seat,
    weat,
    weat_scores,
    weat_test,
    weat_tests,
)
from embedlab.encoders.static import StaticEncoder
from embedlab.errors import FormatError, InvalidParameterError, MissingWordsError
from embedlab.store import Database
from embedlab.vectors import WordVectors


def _reference_weat(
    x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[float, float, float]:
    """Statistic, effect size (ddof=1) and exact p, written out with plain loops."""

    def cos(u: np.ndarray, v: np.ndarray) -> float:
        return float(np.dot(u, v) / math.sqrt(np.dot(u, u) * np.dot(v, v)))

    def s(w: np.ndarray) -> float:
        return sum(cos(w, ai) for ai in a) / len(a) - sum(cos(w, bi) for bi in b) / len(b)

    sx, sy = [s(w) for w in x], [s(w) for w in y]
    stat = sum(sx) - sum(sy)
    both = sx + sy
    mean = sum(both) / len(both)
    std = math.sqrt(sum((v - mean) ** 2 for v in both) / (len(both) - 1))
    effect = (sum(sx) / len(sx) - sum(sy) / len(sy)) / std
    hits = total = 0
    for chosen in itertools.combinations(range(len(both)), len(sx)):
        rest = [both[i] for i in range(len(both)) if i not in chosen]
        si = sum(both[i] for i in chosen) - sum(rest)
        hits += si >= stat - 1e-9
        total += 1
    return stat, effect, hits / total


def _toy_test() -> WeatTest:
    sets = [WordSet(n, tuple(f"{n}{i}" for i in range(6))) for n in ("x", "y", "a", "b")]
    return WeatTest("toy", (sets[0], sets[1]), (sets[2], sets[3]), "toy test")


def _toy_vectors(seed: int = 0, dim: int = 12, lean: float = 0.6) -> WordVectors:
    """x words lean toward the a words' side, y words toward b."""
    rng = np.random.default_rng(seed)
    axis = rng.standard_normal(dim)
    keys, rows = [], []
    for name, sign in (("x", 1), ("y", -1), ("a", 1), ("b", -1)):
        for i in range(6):
            keys.append(f"{name}{i}")
            rows.append(rng.standard_normal(dim) + sign * lean * axis)
    return WordVectors(keys, np.array(rows))


def test_weat_hand_computed_effect_size_and_exact_p() -> None:
    a, b = [[1.0, 0.0]], [[0.0, 1.0]]
    x, y = [[1.0, 0.0], [0.6, 0.8]], [[0.0, 1.0], [0.8, 0.6]]
    r = weat_scores(x, y, a, b)
    # s: x -> 1, -0.2; y -> -1, 0.2; d = 0.8 / std([1, -0.2, -1, 0.2], ddof=1)
    assert r.statistic == pytest.approx(1.6)
    assert r.effect_size == pytest.approx(0.8 / math.sqrt(2.08 / 3))
    assert (r.p_method, r.partitions, r.p_value) == ("exact", 6, pytest.approx(2 / 6))
    assert weat_scores(x, y, a, b, ddof=0).effect_size == pytest.approx(0.8 / math.sqrt(0.52))


def test_weat_without_spread_has_zero_effect_size() -> None:
    """B holds A's directions (scaled, reordered): every s(w, A, B) is 0 up to rounding."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 5))
    b = a[[1, 2, 0]] * np.array([[2.0], [0.3], [7.0]])
    r = weat_scores(rng.normal(size=(4, 5)), rng.normal(size=(4, 5)), a, b)
    assert r.effect_size == 0.0  # not rounding noise divided by rounding noise
    assert r.p_value == 1.0


def test_weat_equals_independent_reference_on_random_vectors() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        x, y, a, b = (rng.standard_normal((n, 10)) for n in (5, 6, 4, 7))
        stat, effect, p = _reference_weat(x, y, a, b)
        r = weat_scores(x, y, a, b)
        assert r.statistic == pytest.approx(stat, abs=1e-6)
        assert r.effect_size == pytest.approx(effect, abs=1e-6)
        assert r.p_value == pytest.approx(p, abs=1e-12)
        assert r.p_method == "exact" and r.total_partitions == math.comb(11, 5)


def test_sampled_p_value_agrees_with_exact_enumeration_and_is_seeded() -> None:
    rng = np.random.default_rng(5)
    x, y, a, b = (rng.standard_normal((8, 6)) + s for s in (0.3, -0.3, 0.5, -0.5))
    exact = weat_scores(x, y, a, b)
    sampled = weat_scores(x, y, a, b, max_exact=0, permutations=50_000, seed=1)
    assert exact.p_method == "exact" and exact.partitions == math.comb(16, 8)
    assert sampled.p_method == "sampled" and sampled.seed == 1
    assert abs(sampled.p_value - exact.p_value) < 0.01
    again = weat_scores(x, y, a, b, max_exact=0, permutations=50_000, seed=1)
    assert again.p_value == sampled.p_value
    assert sampled.p_value > 0  # (hits + 1) / (n + 1)


def test_weat_on_a_model_a_collection_and_a_mapping_agree(tmp_path: Path) -> None:
    wv = _toy_vectors()
    test = _toy_test()
    expected = weat(wv, test)
    assert expected.effect_size > 1.0 and expected.p_value < 0.05
    db = Database(tmp_path / "db")
    col = db.create_collection("words", dim=wv.dim, index="flat", metric="cosine")
    col.add(wv.keys, wv.vectors)
    from_collection = weat(col, test)
    db.close()
    from_mapping = weat({k: wv[k] for k in wv.keys}, test)
    from_pair = weat((wv.keys, wv.vectors), test)
    for other in (from_collection, from_mapping, from_pair):
        assert other.effect_size == pytest.approx(expected.effect_size, abs=1e-6)
        assert other.p_value == pytest.approx(expected.p_value)
    text = expected.describe()
    assert "Effect size" in text and "exact" in text and "ddof=1" in text


def test_missing_words_are_reported_then_refused_below_the_minimum() -> None:
    wv = _toy_vectors()
    keep = [k for k in wv.keys if k not in {"x0", "y5"}]
    partial = WordVectors(keep, np.array([wv[k] for k in keep]))
    r = weat(partial, _toy_test())
    assert r.missing["x"] == ("x0",) and r.missing["y"] == ("y5",)
    assert len(r.used["x"]) == 5
    assert "Missing from the vocabulary" in r.describe()
    few = [k for k in wv.keys if not k.startswith("a") or k == "a0"]
    sparse = WordVectors(few, np.array([wv[k] for k in few]))
    with pytest.raises(MissingWordsError, match="'a' has 1 of 6") as info:
        weat(sparse, _toy_test())
    assert info.value.missing["a"] == ("a1", "a2", "a3", "a4", "a5")
    assert isinstance(info.value, ValueError)
    assert weat(sparse, _toy_test(), min_words=1).used["a"] == ("a0",)


def test_weat_finds_capitalised_words_in_lower_case() -> None:
    test = weat_test("weat6")
    rng = np.random.default_rng(0)
    words = [w.lower() for s in (*test.targets, *test.attributes) for w in s.words]
    wv = WordVectors(words, rng.standard_normal((len(words), 8)))
    assert not any(weat(wv, test).missing.values())
    with pytest.raises(MissingWordsError, match="male_names"):
        weat(wv, test, lowercase=False)


def test_bundled_tests_are_the_ten_of_caliskan() -> None:
    tests = weat_tests()
    assert list(tests) == [f"weat{i}" for i in range(1, 11)]
    assert [len(s.words) for s in (*tests["weat1"].targets, *tests["weat1"].attributes)] == [
        25,
        25,
        25,
        25,
    ]
    assert "rose" in tests["weat1"].targets[0].words
    assert weat_test("WEAT-8").name == "weat8"
    with pytest.raises(InvalidParameterError, match="weat1, weat2"):
        weat_test("weat11")


def test_read_word_sets_text_and_json(tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    text.write_text("# targets\nmath: math, algebra geometry\n\narts: poetry, art\n")
    assert [(s.name, s.words) for s in read_word_sets(text)] == [
        ("math", ("math", "algebra", "geometry")),
        ("arts", ("poetry", "art")),
    ]
    js = tmp_path / "a.json"
    js.write_text('{"male": ["he", "him"], "female": ["she"]}')
    assert [s.words for s in read_word_sets(js)] == [("he", "him"), ("she",)]
    bad = tmp_path / "bad.txt"
    bad.write_text("only one: a b\n")
    with pytest.raises(FormatError, match="expected 2 word sets, found 1"):
        read_word_sets(bad)
    bad.write_text("no colon here\n")
    with pytest.raises(FormatError, match="line 1"):
        read_word_sets(bad)


def _gendered_model(seed: int = 0, dim: int = 16) -> tuple[WordVectors, np.ndarray]:
    """Pairs that differ along a planted direction, neutral words with some of it mixed in."""
    rng = np.random.default_rng(seed)
    g = np.zeros(dim)
    g[0] = 1.0
    keys, rows = [], []
    for f, m in (("she", "he"), ("her", "his"), ("woman", "man"), ("girl", "boy")):
        base = rng.standard_normal(dim) * 0.5
        base[0] = 0
        keys += [f, m]
        rows += [base + g + rng.normal(0, 0.05, dim), base - g + rng.normal(0, 0.05, dim)]
    for i in range(30):
        keys.append(f"job{i}")
        rows.append(rng.standard_normal(dim) + rng.normal(0, 0.8) * g)
    return WordVectors(keys, np.array(rows)), g


def test_bias_direction_recovers_the_planted_direction() -> None:
    wv, g = _gendered_model()
    d = bias_direction(wv, [("she", "he"), ("her", "his"), ("woman", "man"), ("girl", "boy")])
    assert float(d.vector @ g) > 0.99  # oriented toward the first words
    assert d.explained[0] > 0.9
    with pytest.raises(MissingWordsError, match="queen"):
        bias_direction(wv, [("she", "he"), ("queen", "king")])
    partial = bias_direction(wv, [("she", "he"), ("her", "his"), ("queen", "king")])
    assert partial.missing == (("queen", "king"),)


def test_hard_debias_makes_neutral_words_orthogonal_and_returns_new_vectors() -> None:
    wv, _ = _gendered_model()
    before = wv.vectors.copy()
    pairs = [("she", "he"), ("her", "his"), ("woman", "man"), ("girl", "boy")]
    d = bias_direction(wv, pairs)
    jobs = [f"job{i}" for i in range(30)]
    assert direct_bias(wv, jobs, d).value > 0.1
    result = hard_debias(wv, d, definitional=pairs, equalize=pairs)
    out = result.vectors
    assert out is not wv and np.array_equal(wv.vectors, before)  # the input is untouched
    unit = d.vector / np.linalg.norm(d.vector)
    assert np.abs(out.vectors[[out.get_index(j) for j in jobs]] @ unit).max() < 1e-6
    assert direct_bias(out, jobs, d).value < 1e-6
    assert result.neutralised == 30 and len(result.equalised) == 4
    # equalised pairs: the same distance to every neutral word
    she, he = out["she"], out["he"]
    for j in jobs:
        assert float(she @ out[j]) == pytest.approx(float(he @ out[j]), abs=1e-5)
    assert np.linalg.norm(out.vectors, axis=1) == pytest.approx(1.0, abs=1e-5)


def test_hidden_bias_survives_hard_debiasing() -> None:
    """Words whose bias is also carried by a second, correlated feature still cluster."""
    rng = np.random.default_rng(1)
    dim, n = 20, 120
    g, h = np.eye(dim)[0], np.eye(dim)[1]
    side = np.where(np.arange(n) < n // 2, 1.0, -1.0)
    rows = rng.normal(0, 0.3, (n, dim)) + np.outer(side, g) + np.outer(side, h) * 0.8
    wv = WordVectors([f"w{i}" for i in range(n)], rows)
    debiased = hard_debias(wv, g, neutral=wv.keys, equalize=[]).vectors
    report = hidden_bias(wv, debiased, g, n=40)
    assert report.after.mean_abs_projection < 1e-6
    assert report.after.cluster_accuracy > 0.9
    assert report.after.classification_accuracy > 0.9
    # control: with no second feature, debiasing leaves nothing to find
    plain = rng.normal(0, 0.3, (n, dim)) + np.outer(side, g)
    wv2 = WordVectors([f"w{i}" for i in range(n)], plain)
    flat = hidden_bias(wv2, hard_debias(wv2, g, neutral=wv2.keys, equalize=[]).vectors, g, n=40)
    assert flat.after.classification_accuracy < 0.75
    assert "hidden" in report.describe()


def test_compare_weat_side_by_side() -> None:
    wv, g = _gendered_model()
    test = WeatTest(
        "jobs",
        (WordSet("j1", ("job0", "job1", "job2")), WordSet("j2", ("job3", "job4", "job5"))),
        (WordSet("f", ("she", "her")), WordSet("m", ("he", "his"))),
    )
    out = hard_debias(wv, g, equalize=[("she", "he"), ("her", "his")]).vectors
    (row,) = compare_weat(wv, out, [test])
    assert row.before.test == row.after.test == "jobs"
    assert abs(row.before.statistic) > 0.05
    assert row.after.statistic == pytest.approx(0.0, abs=1e-5)  # equalised: no association left
    assert "before" in row.describe()


def test_seat_with_a_static_encoder() -> None:
    wv = _toy_vectors()
    words = [*wv.keys, "this", "is", "that", "there", "here", "it", "a", "word"]
    extra = np.random.default_rng(9).standard_normal((8, wv.dim)) * 0.01
    encoder = StaticEncoder(WordVectors(words, np.vstack([wv.vectors, extra])), name="toy")
    r = seat(encoder, _toy_test(), permutations=2000)
    assert r.scores.p_method == "sampled"  # 48 + 48 sentences: too many to enumerate
    assert len(r.used["x"]) == 6 * 8
    assert r.effect_size > 1.0 and r.p_value < 0.01
    assert "SEAT" in r.describe()
    with pytest.raises(InvalidParameterError, match="templates"):
        seat(encoder, _toy_test(), templates=["no slot"])


@pytest.mark.slow
def test_seat_with_minilm() -> None:
    from embedlab.encoders import load

    r = seat(load("minilm"), weat_test("weat1"), permutations=2000)
    assert r.effect_size > 0.5  # flowers nearer pleasant than insects, as May et al. find


def test_direction_type_checks() -> None:
    wv, _ = _gendered_model()
    with pytest.raises(Exception, match="16 dimensions"):
        hard_debias(wv, np.ones(3))
    assert isinstance(bias_direction(wv, [("she", "he"), ("her", "his")]), BiasDirection)
