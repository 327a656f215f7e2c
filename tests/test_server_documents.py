"""Adding rows by their documents alone: the server embeds them with the collection's model."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import embedlab
from embedlab import Client
from embedlab.encoders.static import StaticEncoder
from embedlab.errors import InvalidParameterError
from embedlab.server import create_app
from embedlab.store import Database
from server_helpers import running

TEXTS = ["the river bank floods", "the bank lends money", "stars shine at night"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, StaticEncoder]]:
    words = sorted({w for t in TEXTS for w in t.split()} | {"river", "money"})
    rng = np.random.default_rng(5)
    encoder = StaticEncoder(
        embedlab.WordVectors(words, rng.normal(size=(len(words), 16))), name="toy"
    )
    db = Database(tmp_path_factory.mktemp("docs") / "db")
    with running(create_app(db, {"toy": encoder})) as url:
        yield url, encoder


def test_documents_without_vectors_are_embedded_by_the_collection_model(
    served: tuple[str, StaticEncoder],
) -> None:
    url, encoder = served
    with Client(url) as client:
        col = client.create_collection("notes", dim=16, index="flat", model="toy")
        col.add(["a", "b"], documents=TEXTS[:2], metadata=[{"n": 1}, {"n": 2}])
        col.upsert(["c"], documents=TEXTS[2:])
        stored = col.get(include=["vectors", "documents"])
        assert stored.ids == ("a", "b", "c") and stored.documents == tuple(TEXTS)
        expected = encoder.encode(TEXTS)
        expected = expected / np.linalg.norm(expected, axis=1, keepdims=True)
        np.testing.assert_allclose(stored.vectors, expected, atol=1e-5)
        assert col.query_texts(["river bank"], k=1)[0].ids == ("a",)
        with pytest.raises(InvalidParameterError, match="rows need vectors, or documents"):
            col.add(["d"])
        with pytest.raises(InvalidParameterError, match="every row needs a text"):
            col.add(["d", "e"], documents=["fine", None])
        other = client.create_collection("other", dim=16, index="flat", model="elsewhere")
        with pytest.raises(InvalidParameterError, match="does not run"):
            other.add(["x"], documents=["some text"])
        assert col.count() == 3 and other.count() == 0
