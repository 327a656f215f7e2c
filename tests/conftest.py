"""Shared fixtures: a planted-topic corpus for training tests and the bundled tiny text file."""

from __future__ import annotations

import os

# Set before anything can import huggingface_hub: the test suite never goes online.
os.environ["HF_HUB_OFFLINE"] = "1"

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from embedlab.store import Collection, Database
from store_api_helpers import DIM
from store_backends import BACKENDS, open_backend, pg_url

__all__ = ["pg_url"]  # the session's PostgreSQL server, for any test that asks for it

DATA_DIR = Path(__file__).parent / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked slow unless the run selects them (``-m slow``)."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@dataclass(frozen=True)
class PlantedCorpus:
    """Sentences that each draw all their words from one topic cluster."""

    lines: list[str]
    clusters: list[list[str]]

    @property
    def words(self) -> int:
        return sum(len(line.split()) for line in self.lines)


def make_planted_corpus(
    *, seed: int = 2024, n_clusters: int = 3, cluster_size: int = 10, sentences: int = 3000
) -> PlantedCorpus:
    """Clusters of distinct words; each sentence is 8-12 words drawn from one cluster."""
    rng = np.random.default_rng(seed)
    prefixes = ["alpha", "beta", "gamma", "delta", "omega"][:n_clusters]
    clusters = [[f"{p}{i}" for i in range(cluster_size)] for p in prefixes]
    lines = []
    for _ in range(sentences):
        cluster = clusters[int(rng.integers(n_clusters))]
        length = int(rng.integers(8, 13))
        lines.append(" ".join(rng.choice(cluster, size=length).tolist()))
    return PlantedCorpus(lines=lines, clusters=clusters)


@pytest.fixture(scope="session")
def planted_corpus() -> PlantedCorpus:
    """Three clusters of ten words, 3,000 sentences (about 30k words)."""
    return make_planted_corpus()


@pytest.fixture(scope="session")
def tiny_corpus_path() -> Path:
    """A 30-line English text written for these tests (tests/data/tiny_corpus.txt)."""
    path = DATA_DIR / "tiny_corpus.txt"
    assert path.is_file(), f"missing test fixture {path}"
    return path


# -- the store's API tests (tests/test_store_api.py, tests/test_store_query.py) ---------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """An empty database folder under tmp_path, closed afterwards."""
    with Database(tmp_path / "db") as database:
        yield database


@pytest.fixture(params=BACKENDS)
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each backend: a folder, and a PostgreSQL server (pgserver)."""
    with open_backend(request.param, request, tmp_path) as database:
        yield database


@pytest.fixture
def col(db: Database) -> Collection:
    """Three rows with metadata and documents in a flat euclidean collection of model m1."""
    collection = db.create_collection("c", dim=DIM, metric="euclidean", index="flat", model="m1")
    collection.add(
        ids=["a", "b", "c"],
        vectors=[[0, 0, 0, 0], [1, 0, 0, 0], [0, 3, 4, 0]],
        metadata=[{"g": 1, "t": "x"}, {"g": 2, "t": "y"}, {"g": 1}],
        documents=["red apple", "green pear", None],
    )
    return collection
