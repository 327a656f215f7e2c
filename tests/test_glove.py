"""GloVe: co-occurrence counts against a brute-force oracle, training, config, CLI exits."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli_helpers import assert_user_error, run_cli
from conftest import PlantedCorpus
from embedlab.errors import CorpusError, InvalidParameterError, MissingFileError
from embedlab.io import load_vectors, save_folder
from embedlab.text.encode import scan_corpus
from embedlab.text.vocabulary import Vocabulary
from embedlab.train import GloVe
from embedlab.train import _glove_kernels as kernels
from embedlab.train._cooccur import count_cooccurrences

WORDS = [f"w{c}" for c in "abcdefghijklmnop"]


def _zipf_lines(seed: int, n_lines: int = 200) -> list[str]:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, len(WORDS) + 1)
    p /= p.sum()
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(0, 14)), p=p)) for _ in range(n_lines)]


def _oracle(lines: list[str], index: dict[str, int], window: int) -> dict[tuple[int, int], float]:
    """Brute force: pruned words removed, lines independent, 1/d both ways."""
    counts: dict[tuple[int, int], float] = defaultdict(float)
    for line in lines:
        ids = [index[w] for w in line.split() if w in index]
        for p, c in enumerate(ids):
            for d in range(1, window + 1):
                if p - d < 0:
                    break
                counts[(ids[p - d], c)] += 1.0 / d
                counts[(c, ids[p - d])] += 1.0 / d
    return dict(counts)


def _count(
    lines: list[str],
    tmp: Path,
    *,
    window: int,
    min_count: int,
    buffer_records: int | None = None,
    dense_entries: int | None = None,
) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], float], int]:
    scan = scan_corpus(lines, ids_path=tmp / "ids.i32")
    vocab, remap = Vocabulary.from_scan(scan, min_count=min_count)
    pairs = count_cooccurrences(
        scan,
        remap,
        len(vocab),
        window=window,
        memory_bytes=2**26,
        workdir=tmp,
        buffer_records=buffer_records,
        dense_entries=dense_entries,
    )
    keys = list(zip(pairs.rows.tolist(), pairs.cols.tolist(), strict=True))
    assert keys == sorted(set(keys)), "pairs must be unique and sorted by (row, col)"
    got = dict(zip(keys, pairs.values.tolist(), strict=True))
    return got, _oracle(lines, vocab.index, window), pairs.spills


def _assert_counts_equal(got: dict, want: dict) -> None:  # type: ignore[type-arg]
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-6), key


@pytest.mark.parametrize(
    ("buffer_records", "dense_entries"),
    [(None, None), (20, 0), (64, 40), (1000, 10**6)],
    ids=["planned", "sparse-spills", "mixed-spills", "all-dense"],
)
def test_counts_match_brute_force(
    tmp_path: Path, buffer_records: int | None, dense_entries: int | None
) -> None:
    lines = _zipf_lines(0)
    got, want, spills = _count(
        lines,
        tmp_path,
        window=3,
        min_count=4,
        buffer_records=buffer_records,
        dense_entries=dense_entries,
    )
    _assert_counts_equal(got, want)
    if buffer_records is not None and buffer_records < 100:
        assert spills > 5  # the spill-and-merge path really ran


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), window=st.integers(1, 6), buffer=st.integers(12, 200))
def test_counts_match_brute_force_property(
    tmp_path_factory: pytest.TempPathFactory, seed: int, window: int, buffer: int
) -> None:
    tmp = tmp_path_factory.mktemp("cooc")
    lines = _zipf_lines(seed, n_lines=40)
    if not any(lines):
        lines.append("wa wb")
    got, want, _ = _count(
        lines, tmp, window=window, min_count=1, buffer_records=max(buffer, 2 * window)
    )
    _assert_counts_equal(got, want)


def test_budget_too_small_names_budget_and_need(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"memory_gb=1e-07 .*480 bytes"):
        GloVe(memory_gb=1e-7, window=10, min_count=1).train(["a b c"])


@pytest.mark.parametrize(
    "params",
    [{"dim": 0}, {"window": 0}, {"epochs": -1}, {"x_max": 0}, {"memory_gb": 0}, {"output": "c"}],
)
def test_bad_parameters(params: dict[str, object]) -> None:
    with pytest.raises(InvalidParameterError):
        GloVe(**params)


def test_bad_corpora(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="empty"):
        GloVe(min_count=1).train([""])
    with pytest.raises(CorpusError, match="min_count=5"):
        GloVe().train(["a b c"])
    with pytest.raises(CorpusError, match="nothing to train on"):
        GloVe(min_count=1).train(["a", "b", "a"])
    with pytest.raises(MissingFileError):
        GloVe().train(tmp_path / "missing.txt")


def test_cost_decreases_and_clusters_form(planted_corpus: PlantedCorpus) -> None:
    glove = GloVe(dim=16, window=5, min_count=1, epochs=8, x_max=10.0, threads=1, seed=3)
    wv = glove.train(planted_corpus.lines)
    assert glove.stats is not None
    costs = glove.stats.costs
    assert len(costs) == 8 and all(b < a for a, b in itertools.pairwise(costs))
    same = wv.similarity("alpha0", "alpha1")
    other = wv.similarity("alpha0", "beta1")
    assert same > other + 0.3


def test_reported_cost_matches_a_direct_evaluation() -> None:
    # train_blocks' cost is the mean over pairs of 0.5 f(x) err^2 before each update:
    # with a learning rate near zero it equals the cost of the initial parameters.
    rng = np.random.default_rng(0)
    rows = np.sort(rng.integers(0, 20, 1000)).astype(np.int32)
    cols = rng.integers(0, 20, 1000).astype(np.int32)
    weight = rng.random(1000, dtype=np.float32) * 50 + 1
    log_x = np.empty_like(weight)
    kernels.pair_weights(weight, 10.0, 0.75, log_x)
    params = kernels.initial_params(20, 8, 1)
    want = kernels.cost_of(rows, cols, log_x, weight, params, 8, 20)
    blocks = np.arange(-(-1000 // kernels.BLOCK), dtype=np.int64)
    got = kernels.train_blocks(
        rows, cols, log_x, weight, blocks, params, 8, 20, 1e-12, np.uint64(7)
    )
    assert got / 1000 == pytest.approx(want, rel=1e-4)


def test_one_thread_and_a_seed_are_deterministic(planted_corpus: PlantedCorpus) -> None:
    def run(seed: int) -> np.ndarray:
        return (
            GloVe(dim=8, min_count=1, epochs=2, threads=1, seed=seed)
            .train(planted_corpus.lines[:500])
            .vectors
        )

    first, second, other = run(5), run(5), run(6)
    assert np.array_equal(first, second)
    assert not np.array_equal(first, other)


def test_output_w_is_the_word_half_of_sum(planted_corpus: PlantedCorpus) -> None:
    lines = planted_corpus.lines[:300]
    common = {"dim": 8, "min_count": 1, "epochs": 2, "threads": 1, "seed": 2}
    w = GloVe(output="w", **common).train(lines)
    total = GloVe(output="SUM", **common).train(lines)
    assert w.vectors.dtype == np.float32 and w.keys == total.keys
    assert not np.allclose(w.vectors, total.vectors)
    assert w.config["params"]["output"] == "w"


def test_config_and_round_trip(planted_corpus: PlantedCorpus, tmp_path: Path) -> None:
    glove = GloVe(dim=8, min_count=2, epochs=3, threads=2, x_max=10.0, seed=4)
    wv = glove.train(planted_corpus.lines[:400])
    config = wv.config
    assert config["kind"] == "glove"
    assert config["params"] | {"threads": 2} == {
        "dim": 8,
        "window": 10,
        "min_count": 2,
        "max_vocab_size": None,
        "x_max": 10.0,
        "alpha": 0.75,
        "epochs": 3,
        "learning_rate": 0.05,
        "threads": 2,
        "memory_gb": 4.0,
        "seed": 4,
        "output": "sum",
    }
    assert config["corpus"]["corpus_words"] == sum(
        len(x.split()) for x in planted_corpus.lines[:400]
    )
    assert config["cooccurrence"]["pairs"] > 0
    assert isinstance(config["training"]["costs"], list) and len(config["training"]["costs"]) == 3
    assert json.loads(json.dumps(config)) == config  # JSON-exact: lists, not tuples
    save_folder(wv, tmp_path / "model")
    back = load_vectors(tmp_path / "model")
    assert back.keys == wv.keys
    assert np.array_equal(back.vectors, wv.vectors)
    assert back.config["kind"] == "glove"


# --- CLI -------------------------------------------------------------------------------


def test_cli_json(tiny_corpus_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    doc = run_cli(
        "train", "glove", tiny_corpus_path, "-o", out, "--dim", "8", "--min-count", "2",
        "--epochs", "3", "--threads", "1", "--x-max", "10", "--json",
    ).json()  # fmt: skip
    for key in ("pairs", "seconds", "vocab_size", "corpus_words", "costs"):
        assert key in doc
    assert doc["kind"] == "glove" and len(doc["costs"]) == 3
    wv = load_vectors(out)
    assert len(wv) == doc["vocab_size"] and wv.dim == 8


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--dim", "0"], "'dim'"),
        (["--window", "0"], "'window'"),
        (["--epochs", "0"], "'epochs'"),
        (["--min-count", "100000"], "min_count=100000"),
        (["--memory-gb", "0.0000001"], "memory_gb"),
    ],
)
def test_cli_user_errors(
    tiny_corpus_path: Path, tmp_path: Path, args: list[str], needle: str
) -> None:
    result = run_cli("train", "glove", tiny_corpus_path, "-o", tmp_path / "m", *args, "--json")
    assert_user_error(result, needle)
    assert not (tmp_path / "m").exists()


def test_cli_missing_and_empty_corpus(tmp_path: Path) -> None:
    missing = run_cli("train", "glove", tmp_path / "nope.txt", "-o", tmp_path / "m")
    assert_user_error(missing, "nope")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert_user_error(run_cli("train", "glove", empty, "-o", tmp_path / "m"), "empty")


@pytest.mark.slow
def test_spill_path_end_to_end_matches_in_memory(planted_corpus: PlantedCorpus) -> None:
    # The same training with a tiny buffer (many spills) gives the same vectors.
    def run(buffer: int | None) -> np.ndarray:
        glove = GloVe(dim=8, min_count=1, epochs=2, threads=1, seed=1)
        glove._buffer_records, glove._dense_entries = buffer, (0 if buffer else None)
        wv = glove.train(planted_corpus.lines)
        assert glove.stats is not None and (glove.stats.spills > 10) == bool(buffer)
        return wv.vectors

    np.testing.assert_allclose(run(500), run(None), rtol=1e-4, atol=1e-5)
