"""Node2Vec / DeepWalk: walk statistics against the (p, q) formula, training, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli_helpers import run_cli
from embedlab.errors import (
    CorpusError,
    FormatError,
    InvalidParameterError,
    MissingFileError,
    UnknownKeyError,
)
from embedlab.eval.link_prediction import link_prediction_auc, roc_auc, split_edges
from embedlab.train import Graph, Node2Vec, _kernels, read_edge_list
from embedlab.train.node2vec import _expected_visits
from embedlab.vectors import WordVectors

# t - v, and v's other neighbours: x1 (also t's neighbour), x2 and x3 (not), with weights.
PQ_EDGES = [
    ("t", "v", 1.0),
    ("t", "x1", 1.0),
    ("v", "x1", 2.0),
    ("v", "x2", 1.0),
    ("v", "x3", 3.0),
]


def _second_steps(graph: Graph, walks: np.ndarray, t: int, v: int) -> dict[int, int]:
    """How often a walk that went t -> v took each next node."""
    counts: dict[int, int] = {}
    for a, b, c in zip(walks[:-2], walks[1:-1], walks[2:], strict=True):
        if a == t and b == v and c >= 0:
            counts[int(c)] = counts.get(int(c), 0) + 1
    return counts


@pytest.mark.parametrize(("p", "q"), [(0.5, 2.0), (4.0, 0.25), (1.0, 1.0)])
def test_transition_frequencies_follow_the_pq_formula(p: float, q: float) -> None:
    graph = Graph.from_edges(PQ_EDGES)
    ids = {k: i for i, k in enumerate(graph.keys)}
    t, v = ids["t"], ids["v"]
    model = Node2Vec(walk_length=3, p=p, q=q, seed=3)
    walks = model.walks(graph, start_nodes=np.full(150_000, t))
    seen = _second_steps(graph, walks, t, v)
    # Unnormalised probability alpha(t, x) * w(v, x): 1/p back to t, 1 to t's neighbour.
    expected = {"t": 1.0 / p, "x1": 2.0 * 1.0, "x2": 1.0 / q, "x3": 3.0 / q}
    total_expected = sum(expected.values())
    total_seen = sum(seen.values())
    assert total_seen > 20_000  # t -> v is taken about a third of the time
    for key, weight in expected.items():
        share = seen.get(ids[key], 0) / total_seen
        assert share == pytest.approx(weight / total_expected, abs=0.01), key
    # The first step from t is first order, by weight: v 1, x1 1.
    first = walks[1::4]
    assert (first == v).mean() == pytest.approx(0.5, abs=0.01)


def test_walks_stop_at_a_dead_end_of_a_directed_graph() -> None:
    graph = Graph.from_edges([("a", "b"), ("b", "c")], directed=True)
    walks = Node2Vec(walk_length=5).walks(graph)
    assert walks.tolist() == [0, 1, 2, -1, 1, 2, -1, 2, -1]


def _two_communities(n: int = 30, seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    edges = []
    for a in range(2 * n):
        for b in range(a + 1, 2 * n):
            same = (a < n) == (b < n)
            if rng.random() < (0.3 if same else 0.01):
                edges.append((f"n{a}", f"n{b}"))
    return Graph.from_edges(edges)


def test_training_separates_communities_and_predicts_held_out_links() -> None:
    graph = _two_communities()
    split = split_edges(graph, test_fraction=0.15, seed=1)
    assert split.train.nodes == graph.nodes
    assert split.train.edges == graph.edges - len(split.positives)
    params = dict(dim=16, walk_length=20, walks_per_node=20, window=5, sample=0.0, seed=2)
    model = Node2Vec(**params, threads=1)
    wv = model.train(split.train)
    assert len(wv) == graph.nodes and wv.dim == 16
    assert model.stats is not None and model.stats.steps > 0.9 * graph.nodes * 20 * 20
    same = [
        (int(k[1:]) < 30) == (int(key[1:]) < 30)
        for key in wv.keys
        for k, _ in wv.most_similar(key, k=5)
    ]
    assert np.mean(same) > 0.9
    assert link_prediction_auc(wv, split.positives, split.negatives) > 0.7
    again = Node2Vec(**params, threads=1)
    assert np.array_equal(again.train(split.train).vectors, wv.vectors)  # one thread: fixed


def test_roc_auc_matches_pair_counting() -> None:
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 5, 40).astype(float), rng.integers(0, 5, 30).astype(float)
    pairs = [(a > b) + 0.5 * (a == b) for a in pos for b in neg]
    assert roc_auc(pos, neg) == pytest.approx(np.mean(pairs))


def test_edge_list_adjustments_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "edges.tsv"
    good.write_text("# comment\na\tb\t2.5\nb\tc\na\ta\nb\ta\t1\n\nc d 1e-3\n")
    with pytest.warns(UserWarning, match="1 self-loop"):
        graph = read_edge_list(good)
    assert graph.keys == ["a", "b", "c", "d"]
    assert (graph.self_loops_dropped, graph.duplicates_merged, graph.edges) == (1, 1, 3)
    assert graph.weighted
    a_row = slice(graph.indptr[0], graph.indptr[1])
    assert graph.weights[a_row].tolist() == [2.5]  # the largest of a-b's weights
    for text, message, line in [
        ("a\tb\tx\n", "must be a number", 1),
        ("a b\nb c -1\n", "finite positive", 2),
        ("a b\nb c nan\n", "finite positive", 2),
        ("a\n", "2 or 3 fields", 1),
        ("a b 1 2\n", "2 or 3 fields", 1),
    ]:
        bad = tmp_path / "bad.tsv"
        bad.write_text(text)
        with pytest.raises(FormatError, match=message) as info:
            read_edge_list(bad)
        assert info.value.line == line and str(bad) in str(info.value)
    empty = tmp_path / "empty.tsv"
    empty.write_text("# nothing\n")
    with pytest.raises(FormatError, match="no edges"):
        read_edge_list(empty)
    with pytest.raises(MissingFileError):
        read_edge_list(tmp_path / "missing.tsv")
    with pytest.warns(UserWarning), pytest.raises(CorpusError, match="at least one edge"):
        Node2Vec().train(Graph.from_edges([("a", "a")]))


def test_unknown_node_in_evaluation_is_a_typed_error() -> None:
    wv = WordVectors(["a", "b"], np.eye(2, dtype=np.float32))
    with pytest.raises(UnknownKeyError, match="zzz"):
        link_prediction_auc(wv, [("a", "zzz")], [("a", "b")])


def test_cli_trains_from_an_edge_list(tmp_path: Path) -> None:
    edges = tmp_path / "edges.tsv"
    graph = _two_communities(15)
    src, dst, _ = graph.edge_pairs()
    edges.write_text(
        "".join(f"{graph.keys[a]}\t{graph.keys[b]}\n" for a, b in zip(src, dst, strict=True))
    )
    out = tmp_path / "model"
    result = run_cli(
        "train", "node2vec", edges, "-o", out, "--dim", "8", "--walk-length", "10",
        "--threads", "1", "--holdout", "0.1", "--json",
    )  # fmt: skip
    doc = result.json()
    assert doc["nodes"] == graph.nodes and 0.0 <= doc["link_prediction_auc"] <= 1.0
    assert len(WordVectors.load(out)) == graph.nodes
    bad = tmp_path / "bad.tsv"
    bad.write_text("a b\nb c heavy\n")
    failed = run_cli("train", "node2vec", bad, "-o", tmp_path / "m2")
    assert failed.code != 0 and "line 2" in failed.stderr and "Traceback" not in failed.stderr


def _touched_output_rows(pair_negatives: bool) -> int:
    """Output rows one 3-node walk changes (window 2, 5 negatives, 10,000 nodes)."""
    vocab, dim = 10_000, 4
    rng = np.random.default_rng(0)
    w_in = rng.standard_normal((vocab, dim)).astype(np.float32)
    w_out = np.zeros((vocab, dim), dtype=np.float32)
    prob, alias = _kernels.build_alias(np.ones(vocab))
    sig, logsig = _kernels.sigmoid_tables()
    _kernels.train_lines(
        np.array([0, 1, 2, -1], dtype=np.int32), np.arange(vocab, dtype=np.int32),
        np.ones(vocab, dtype=np.float32), w_in, w_out, np.arange(vocab + 1, dtype=np.int64),
        np.arange(vocab, dtype=np.int32), prob, alias, sig, logsig, 2, 5, False, False,
        0.1, 0.1, _kernels.chunk_seed(1, 0, 0), np.empty(0, dtype=np.int64), 0, True, 0,
        True, 1, pair_negatives,
    )  # fmt: skip
    return int(np.count_nonzero(np.abs(w_out).sum(axis=1)))


def test_graph_walks_draw_negatives_for_every_context_centre_pair() -> None:
    """Per-pair draws (gensim's scheme) reach twice the noise rows of window-shared draws.

    Each of the 3 centres has 2 context nodes: shared, 5 negatives a centre (at most 15
    rows + the 3 centres); per pair, 5 for each of the 6 pairs (about 30 + 3).
    """
    assert _touched_output_rows(pair_negatives=False) <= 18
    assert _touched_output_rows(pair_negatives=True) >= 30


def test_expected_visits_match_the_walks() -> None:
    """Subsampling and the noise table use the walks' expected visits (start node
    included), as gensim's counts of PecanPy's walks would be, not degree shares."""
    edges = [("hub", f"leaf{i}", 1.0) for i in range(6)] + [
        ("leaf0", "leaf1", 3.0),
        ("leaf2", "tail", 1.0),
    ]
    graph = Graph.from_edges(edges, directed=True)
    walks = Node2Vec(walk_length=6, seed=4).walks(
        graph, start_nodes=np.tile(np.arange(graph.nodes), 4000)
    )
    seen = np.bincount(walks[walks >= 0], minlength=graph.nodes) / 4000
    expected = _expected_visits(graph, 6)
    assert expected == pytest.approx(seen, rel=0.03, abs=0.01)
    assert expected[graph.keys.index("hub")] == 1.0  # nothing leads back to it


def test_shared_negatives_is_validated() -> None:
    with pytest.raises(InvalidParameterError, match="shared_negatives"):
        Node2Vec(shared_negatives="yes")


def _pair_update(dot: float) -> tuple[np.ndarray, np.ndarray]:
    """Input and output weights after a 2-node walk whose pairs start at the given dot."""
    w_in = np.full((2, 4), -1.0, dtype=np.float32)
    w_out = np.full((2, 4), -dot / 4, dtype=np.float32)
    prob, alias = _kernels.build_alias(np.ones(2))
    sig, logsig = _kernels.sigmoid_tables()
    _kernels.train_lines(
        np.array([0, 1, -1], dtype=np.int32), np.arange(2, dtype=np.int32),
        np.ones(2, dtype=np.float32), w_in, w_out, np.arange(3, dtype=np.int64),
        np.arange(2, dtype=np.int32), prob, alias, sig, logsig, 1, 0, False, False,
        0.1, 0.1, _kernels.chunk_seed(1, 0, 0), np.empty(0, dtype=np.int64), 0, True, 0,
        True, 1, True,
    )  # fmt: skip
    return w_in, w_out


def test_graph_pairs_skip_terms_beyond_the_sigmoid_table() -> None:
    """As gensim's skip-gram, a term whose dot product is beyond -6..6 changes nothing
    (word2vec.c would apply the saturated gradient); one inside the table trains."""
    far_in, far_out = _pair_update(-8.0)
    assert (far_in == -1.0).all() and (far_out == 2.0).all()
    near_in, near_out = _pair_update(-4.0)
    assert (near_in != -1.0).all() and (near_out != 1.0).all()
