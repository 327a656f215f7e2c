"""Node2Vec and DeepWalk: random walks on a graph, trained as skip-gram sentences.

Each job walks from a block of start nodes in compiled code and hands the walks (node
ids, ``-1`` between walks) straight to the SGNS kernel Word2Vec uses: no walk is ever a
string, and walking and training run together on every thread.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from embedlab._progress import EpochProgress, ProgressCallback, rich_training_progress
from embedlab._validation import check_float, check_int
from embedlab.errors import CorpusError, InvalidParameterError
from embedlab.train import _kernels
from embedlab.train._base import ThreadsParam, check_matrix_memory
from embedlab.train._graph import Graph, read_edge_list
from embedlab.train._runner import run_jobs
from embedlab.train._walks import random_walks
from embedlab.vectors import WordVectors

__all__ = ["Graph", "Node2Vec", "Node2VecParams", "Node2VecStats", "read_edge_list"]

_JOB_STEPS = 40_000
"""Walk steps per job, about a corpus chunk's worth of words."""


@dataclass(frozen=True)
class Node2VecParams(ThreadsParam):
    """Hyper-parameters of a node2vec run: PecanPy's and the paper's defaults.

    ``p`` (return) and ``q`` (in-out) bias the walks; ``p == q == 1`` is DeepWalk. The
    skip-gram settings are gensim's, as PecanPy passes them: negative 5, sample 1e-3,
    negatives drawn for every (context, centre) pair. ``shared_negatives=True`` draws one
    set per centre node for its whole window instead (Word2Vec's faster scheme; it cost
    link-prediction AUC on the Debian graph, see benchmarks/RESULTS.md).
    """

    dim: int = 128
    walk_length: int = 80
    walks_per_node: int = 10
    window: int = 10
    p: float = 1.0
    q: float = 1.0
    negative: int = 5
    ns_exponent: float = 0.75
    sample: float = 1e-3
    alpha: float = 0.025
    min_alpha: float = 0.0001
    epochs: int = 1
    threads: int = 0
    seed: int = 1
    shared_negatives: bool = False

    def __post_init__(self) -> None:
        check_int("dim", self.dim)
        check_int("walk_length", self.walk_length, minimum=2)
        check_int("walks_per_node", self.walks_per_node)
        check_int("window", self.window)
        check_float("p", self.p, inclusive_min=False)
        check_float("q", self.q, inclusive_min=False)
        check_int("negative", self.negative)
        check_float("ns_exponent", self.ns_exponent, minimum=-10.0, maximum=10.0)
        check_float("sample", self.sample, maximum=1.0)
        check_float("alpha", self.alpha, inclusive_min=False)
        check_float("min_alpha", self.min_alpha, maximum=self.alpha)
        check_int("epochs", self.epochs)
        check_int("threads", self.threads, minimum=0)
        check_int("seed", self.seed, minimum=0)
        if not isinstance(self.shared_negatives, bool):
            raise InvalidParameterError(
                f"shared_negatives must be True or False; got {self.shared_negatives!r}"
            )


@dataclass(frozen=True)
class Node2VecStats:
    """What a node2vec run did: walk steps are the "words" of the walks' corpus.

    ``walk_seconds`` sums the time the threads spent walking (the rest was training).
    """

    nodes: int
    edges: int
    walks: int
    steps: int
    epochs: int
    seconds: float
    walk_seconds: float
    steps_per_second: float
    losses: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self) | {"losses": list(self.losses)}


class Node2Vec:
    """Node embeddings from DeepWalk or node2vec (p, q) walks on a graph.

    Example:
        >>> edges = [(str(i), str((i + 1) % 20)) for i in range(20)]
        >>> model = Node2Vec(dim=8, walk_length=10, walks_per_node=2, threads=1)
        >>> vectors = model.train(Graph.from_edges(edges))
        >>> len(vectors), vectors.dim
        (20, 8)
    """

    def __init__(self, **params: Any) -> None:
        try:
            self.params = Node2VecParams(**params)
        except TypeError as exc:
            names = ", ".join(f.name for f in dataclasses.fields(Node2VecParams))
            raise InvalidParameterError(f"{exc}; valid parameters are {names}") from None
        self.stats: Node2VecStats | None = None
        self.output_vectors: np.ndarray | None = None

    def walks(self, graph: Graph, *, start_nodes: np.ndarray | None = None) -> np.ndarray:
        """The walks one round from each start node (every node by default) would take.

        Node ids, each walk ended by -1 (what training sees; handy for checks).

        Example:
            >>> g = Graph.from_edges([("a", "b"), ("b", "c")])
            >>> Node2Vec(walk_length=3).walks(g, start_nodes=np.array([0])).tolist()
            [0, 1, 0, -1]
        """
        p = self.params
        starts = np.arange(graph.nodes) if start_nodes is None else np.asarray(start_nodes)
        return random_walks(
            graph.indptr, graph.indices, graph.cumulative, graph.weighted,
            starts.astype(np.int64), p.walk_length, p.p, p.q,
            _kernels.chunk_seed(p.seed, 0, 0),
        )  # fmt: skip

    def train(
        self,
        graph: Graph | str | os.PathLike[str],
        *,
        progress: bool = False,
        callback: ProgressCallback | None = None,
    ) -> WordVectors:
        """Walk and train; return one vector per node (keys are the node names).

        ``graph`` is a :class:`Graph` or the path of an edge list
        (:func:`read_edge_list`, undirected). ``progress`` and ``callback`` work as for
        Word2Vec, counting walk steps as words.
        """
        if not isinstance(graph, Graph):
            graph = read_edge_list(graph)
        if graph.nodes == 0 or graph.edges == 0:
            raise CorpusError(
                f"the graph has {graph.nodes} node(s) and {graph.edges} edge(s); "
                "node embeddings need at least one edge"
            )
        if progress and callback is None:
            with rich_training_progress() as draw:
                return self._train(graph, draw)
        return self._train(graph, callback)

    def _train(self, graph: Graph, callback: ProgressCallback | None) -> WordVectors:
        p = self.params
        started = time.perf_counter()
        n = graph.nodes
        check_matrix_memory(2 * n, p.dim, what="the input and output weights")
        rng = np.random.default_rng(p.seed)
        w_in = (rng.random((n, p.dim), dtype=np.float32) * 2 - 1) / np.float32(p.dim)
        w_out = np.zeros((n, p.dim), dtype=np.float32)
        # The walks' expected visit counts stand for a corpus's word counts, behind
        # subsampling and the negative-sampling table (gensim counts PecanPy's walks).
        total_steps = float(n) * p.walks_per_node * p.walk_length
        expected = np.maximum(_expected_visits(graph, p.walk_length) * p.walks_per_node, 1e-9)
        keep = _keep_probabilities(expected, p.sample)
        noise = np.where(graph.degree > 0, expected, 0.0) ** p.ns_exponent
        alias_prob, alias_idx = _kernels.build_alias(noise)
        sig, logsig = _kernels.sigmoid_tables()
        remap = np.arange(n, dtype=np.int32)
        sub_offsets = np.arange(n + 1, dtype=np.int64)
        sub_rows = np.arange(n, dtype=np.int32)
        no_docs = np.empty(0, dtype=np.int64)
        block = max(1, _JOB_STEPS // p.walk_length)
        orders = [
            np.random.default_rng([p.seed, r]).permutation(n) for r in range(p.walks_per_node)
        ]
        jobs = [
            (e, r, b)
            for e in range(p.epochs)
            for r in range(p.walks_per_node)
            for b in range(0, n, block)
        ]
        steps_total = int(total_steps) * p.epochs
        loss_sum = [0.0] * p.epochs
        loss_terms = [0] * p.epochs
        visits = np.zeros(n, dtype=np.int64)
        done = {"steps": 0, "walk_seconds": 0.0, "walks": 0}

        def run(job_no: int) -> tuple[int, float, int, int, float, np.ndarray]:
            epoch, rnd, first = jobs[job_no]
            seed = _kernels.chunk_seed(p.seed, epoch, rnd * n + first)
            t0 = time.perf_counter()
            walks = random_walks(
                graph.indptr, graph.indices, graph.cumulative, graph.weighted,
                orders[rnd][first : first + block], p.walk_length, p.p, p.q, seed,
            )  # fmt: skip
            walked = time.perf_counter() - t0
            a0 = p.alpha - (p.alpha - p.min_alpha) * job_no / len(jobs)
            a1 = p.alpha - (p.alpha - p.min_alpha) * (job_no + 1) / len(jobs)
            loss, terms, _ = _kernels.train_lines(
                walks, remap, keep, w_in, w_out, sub_offsets, sub_rows, alias_prob,
                alias_idx, sig, logsig, p.window, p.negative, False, False, a0, a1,
                _kernels.chunk_seed(p.seed + 1, epoch, rnd * n + first), no_docs, 0, True,
                0, True, 1, not p.shared_negatives,
            )  # fmt: skip
            return epoch, loss, terms, len(walks), walked, walks

        def collect(result: tuple[int, float, int, int, float, np.ndarray]) -> None:
            epoch, loss, terms, length, walked, walks = result
            if not np.isfinite(loss):
                raise _diverged(p.alpha)
            loss_sum[epoch] += loss
            loss_terms[epoch] += terms
            ends = int((walks < 0).sum())
            done["steps"] += length - ends
            done["walks"] += ends
            done["walk_seconds"] += walked
            if epoch == 0:
                visits[:] += np.bincount(walks[walks >= 0], minlength=n)
            if callback is not None:
                callback(
                    EpochProgress(
                        epoch=epoch,
                        epochs=p.epochs,
                        words_done=int(done["steps"]),
                        words_total=steps_total,
                        words_per_second=done["steps"] / max(time.perf_counter() - started, 1e-9),
                        loss=loss_sum[epoch] / max(loss_terms[epoch], 1),
                    )
                )

        run_jobs(range(len(jobs)), run, threads=p.resolved_threads, on_done=collect)
        if not (np.isfinite(w_in).all() and np.isfinite(w_out).all()):
            raise _diverged(p.alpha)
        seconds = time.perf_counter() - started
        steps = int(done["steps"])
        self.stats = Node2VecStats(
            nodes=n,
            edges=graph.edges,
            walks=int(done["walks"]),
            steps=steps,
            epochs=p.epochs,
            seconds=seconds,
            walk_seconds=float(done["walk_seconds"]),
            steps_per_second=steps / max(seconds, 1e-9),
            losses=tuple(s / max(t, 1) for s, t in zip(loss_sum, loss_terms, strict=True)),
        )
        self.output_vectors = w_out
        return WordVectors(graph.keys, w_in, counts=visits, config=self._config(graph))

    def _config(self, graph: Graph) -> dict[str, Any]:
        from embedlab import __version__

        stats = self.stats.to_dict() if self.stats else {}
        return {
            "kind": "node2vec" if (self.params.p, self.params.q) != (1.0, 1.0) else "deepwalk",
            "params": dataclasses.asdict(self.params) | {"threads": self.params.resolved_threads},
            "graph": {
                "nodes": graph.nodes,
                "edges": graph.edges,
                "directed": graph.directed,
                "weighted": graph.weighted,
                "self_loops_dropped": graph.self_loops_dropped,
                "duplicates_merged": graph.duplicates_merged,
            },
            "training": stats,
            "library_version": __version__,
        }


def _expected_visits(graph: Graph, walk_length: int) -> np.ndarray:
    """Expected visits of each node in one first-order walk of walk_length from every node.

    The start distribution (one walk a node) is pushed through the weighted transition
    matrix walk_length - 1 times; a dead end (directed graphs) ends a walk. Exact for
    DeepWalk; for node2vec's second-order walks an approximation. A node's share of the
    stationary distribution (its weighted degree) alone would undercount the many
    low-degree nodes, every walk's first step being one of them.
    """
    n = graph.nodes
    owner = np.repeat(np.arange(n), graph.degree)
    strength = np.bincount(owner, weights=graph.weights.astype(np.float64), minlength=n)
    step = graph.weights.astype(np.float64) / np.maximum(strength, 1e-300)[owner]
    here: np.ndarray = np.ones(n, dtype=np.float64)
    total = here.copy()
    for _ in range(walk_length - 1):
        here = np.bincount(graph.indices, weights=here[owner] * step, minlength=n)
        total += here
    return total


def _keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec's subsampling over expected visit counts (see Vocabulary.keep_probabilities)."""
    if sample == 0:
        return np.ones(len(counts), dtype=np.float32)
    threshold = sample * counts.sum()
    keep = (np.sqrt(counts / threshold) + 1.0) * threshold / counts
    result: np.ndarray = np.minimum(keep, 1.0).astype(np.float32)
    return result


def _diverged(alpha: float) -> Exception:
    from embedlab.errors import TrainingDivergedError

    return TrainingDivergedError(f"node2vec training diverged; lower alpha (got {alpha})")
