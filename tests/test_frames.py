"""Results and collections as Arrow / pandas / polars tables, add(df), the Parquet reader
read by column (against the per-row reader as oracle), and the notebook HTML."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import embedlab
from embedlab.errors import InvalidParameterError, MissingDependencyError
from embedlab.store import Collection, Database

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

METADATA: list[dict[str, Any]] = [
    {"lang": "en", "year": 2020, "score": 0.5, "ok": True, "tags": ["a", "b"]},
    {"lang": "fr", "year": 1999},
    {},
    {"score": 2.25, "ok": False, "tags": ["c"]},
]
DOCUMENTS = ["first <b>doc</b>", None, "third", "fourth"]


@pytest.fixture
def db(tmp_path: Path) -> Any:
    with Database(tmp_path / "db") as database:
        yield database


def _filled(db: Database, name: str = "src", metadata: list[dict[str, Any]] = METADATA) -> Any:
    col = db.create_collection(name, dim=3, index="flat")
    vectors = np.random.default_rng(0).standard_normal((len(metadata), 3)).astype(np.float32)
    col.add([f"id{i}" for i in range(len(metadata))], vectors, metadata, DOCUMENTS)
    return col


def _everything(col: Collection) -> dict[str, Any]:
    return col.get(include=("metadata", "documents", "vectors")).to_dict()


@pytest.mark.parametrize("kind", ["arrow", "pandas", "polars"])
def test_collection_round_trips_through_each_table_kind(db: Database, kind: str) -> None:
    src = _filled(db)
    table = getattr(src, f"to_{kind}")()
    dst = db.create_collection("dst", dim=3, index="flat")
    dst.add(table)
    assert _everything(dst) == _everything(src)  # ints stay ints, bools bools, lists lists


def test_query_result_columns_follow_the_result(db: Database) -> None:
    col = _filled(db)
    result = col.query([1.0, 0.0, 0.0], k=4, include=("metadata", "documents", "vectors"))
    frame = result.to_pandas()
    assert frame["id"].tolist() == list(result.ids)
    assert np.allclose(frame["distance"].to_numpy(), result.distances)
    assert list(frame.columns[:4]) == ["id", "distance", "document", "vector"]
    assert frame["vector"].iloc[0].dtype == np.float32
    assert np.array_equal(np.stack(frame["vector"].to_list()), result.vectors)
    by_id = dict(zip(result.ids, result.metadata or (), strict=True))
    assert frame.set_index("id").loc["id1", "year"] == by_id["id1"]["year"] == 1999
    table = result.to_arrow()
    assert table.schema.field("vector").type == pa.list_(pa.float32(), 3)
    polars = result.to_polars()
    assert polars["id"].to_list() == list(result.ids)
    copy = db.create_collection("copy", dim=3, index="flat")
    copy.add(polars)  # a result's distances are not metadata of the rows
    same_order = col.get(list(result.ids), include=("metadata", "documents", "vectors"))
    assert _everything(copy) == same_order.to_dict()
    # without include, only what was asked for
    assert col.get(include=[]).to_arrow().column_names == ["id"]


@pytest.mark.parametrize(
    "metadata",
    [
        [{"id": "clashes with the id column", "n": 1}, {}],  # a reserved name
        [{"n": 1}, {"n": "one"}],  # one key, two types
        [{"n": 1}, {"n": 1.5}],  # int and float would merge into float
    ],
)
def test_metadata_that_one_column_per_key_cannot_hold_is_one_json_column(
    db: Database, metadata: list[dict[str, Any]]
) -> None:
    src = db.create_collection("src", dim=2, index="flat")
    src.add(["a", "b"], [[1, 0], [0, 1]], metadata)
    table = src.to_arrow()
    assert "metadata" in table.column_names and "n" not in table.column_names
    dst = db.create_collection("dst", dim=2, index="flat")
    dst.add(src.to_pandas())
    assert dst.get().metadata == src.get().metadata


def test_add_frame_forms(db: Database) -> None:
    col = db.create_collection("c", dim=2, index="flat")
    frame = pd.DataFrame(
        {
            "embedding": [np.array([1.0, 0.0]), np.array([0.0, 1.0])],
            "year": [2020, np.nan],  # pandas' missing value: the row lacks the key
            "lang": ["en", None],
        }
    )
    col.add(frame)
    got = col.get()
    assert got.ids == ("0", "1")  # no id column: row numbers, as in the row files
    assert got.metadata == ({"year": 2020.0, "lang": "en"}, {})
    col.upsert(pl.DataFrame({"id": ["0"], "vector": [[0.5, 0.5]], "document": ["new"]}))
    assert col.get(["0"]).documents == ("new",)
    assert col.get(["0"], include="vectors").vectors.tolist() == [[0.5, 0.5]]


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        (lambda: pd.DataFrame({"id": ["a"], "vec": [[1.0, 0.0]]}), "'vector' or 'embedding'"),
        (
            lambda: pd.DataFrame({"vector": [[1.0, 0.0]], "embedding": [[1.0, 0.0]]}),
            "it has both",
        ),
        (lambda: pd.DataFrame({"id": [""], "vector": [[1.0, 0.0]]}), "row 0"),
        (lambda: pd.DataFrame({"id": ["a", "b"], "vector": [[1.0, 0.0], [1.0]]}), "one length"),
        (lambda: pa.table({"id": ["a"], "vector": [[1.0, 0.0]], "document": [3]}), "'document'"),
        (lambda: pd.DataFrame({"id": ["a"], "vector": [[1.0, 0.0, 0.0]]}), "dimension"),
    ],
)
def test_bad_frames_are_refused_and_change_nothing(db: Database, frame: Any, needle: str) -> None:
    col = db.create_collection("c", dim=2)
    col.add(["kept"], [[1.0, 1.0]])
    with pytest.raises(ValueError, match=needle):  # InvalidParameter or DimensionMismatch
        col.add(frame())
    assert col.get().ids == ("kept",)


def test_frame_plus_vectors_and_no_vectors_are_refused(db: Database) -> None:
    col = db.create_collection("c", dim=2)
    frame = pd.DataFrame({"id": ["a"], "vector": [[1.0, 0.0]]})
    with pytest.raises(InvalidParameterError, match="got vectors as well"):
        col.add(frame, [[1.0, 0.0]])
    with pytest.raises(InvalidParameterError, match="need vectors"):
        col.add(["a"])
    assert col.count() == 0


def test_missing_extras_name_the_extra_and_the_store_still_works(tmp_path: Path) -> None:
    code = f"""
import sys

class Absent:  # as if pandas and polars were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pandas", "polars"):
            raise ModuleNotFoundError("No module named " + name)

sys.meta_path.insert(0, Absent())
import embedlab
from embedlab.errors import MissingDependencyError
db = embedlab.Database({str(tmp_path / "db")!r})
col = db.create_collection("c", dim=2, index="flat")
col.add(["a"], [[1.0, 0.0]])
assert col.to_arrow().num_rows == 1
for name in ("to_pandas", "to_polars"):
    try:
        getattr(col.get(), name)()
    except MissingDependencyError as exc:
        assert "pip install 'embedlab[frames]'" in str(exc), exc
    else:
        raise SystemExit(name + " did not fail")
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr
    assert issubclass(MissingDependencyError, ImportError)


# -- Parquet read by column, against the per-row reader ------------------------------------
def _reference(path: Path, fields: Any, dim: int | None, batch_size: int) -> list[Any]:
    """The per-row reader, as it was before the columnar path: the oracle."""
    from embedlab.store import _readers

    table = pq.ParquetFile(path)
    parser = _readers._RowParser(fields, dim)
    rows = [
        parser.row(record, i, f"{path}, row {i}")
        for i, record in enumerate(table.read().to_pylist())
    ]
    return list(_readers._batched(rows, batch_size))


def _flat(batches: list[Any]) -> tuple[Any, ...]:
    ids = [k for b in batches for k in b.ids]
    vectors = np.concatenate([b.vectors for b in batches]) if batches else None
    metas = [m for b in batches for m in (b.metadata or [{}] * len(b.ids))]
    docs = [d for b in batches for d in (b.documents or [None] * len(b.ids))]
    return ids, None if vectors is None else vectors.tolist(), metas, docs


TABLES = {
    "list vectors, str ids, metadata with nulls": lambda: pa.table(
        {
            "id": ["p", "q", "r", "s", "t"],
            "vector": [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [2, 3], [0.25, -1.0]],
            "document": ["pea", None, "are", None, "tea"],
            "lang": ["en", "fr", None, "de", "en"],
            "n": [1, None, 3, 4, 5],
            "tags": [["x"], None, [], ["y", "z"], ["x"]],
        }
    ),
    "fixed-size float32, int ids, no documents": lambda: pa.table(
        {
            "id": pa.array([10, 11, 12], pa.int64()),
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(np.arange(6, dtype=np.float32)), 2
            ),
        }
    ),
    "large lists of ints, no id column, all-null documents": lambda: pa.table(
        {
            "vector": pa.array([[1, 2], [3, 4], [5, 6]], pa.large_list(pa.int32())),
            "document": pa.array([None, None, None], pa.null()),
            "flag": [True, False, None],
        }
    ),
    "nested metadata struct (per-row path)": lambda: pa.table(
        {
            "id": ["a", "b"],
            "vector": [[1.0, 0.0], [0.0, 1.0]],
            "metadata": [{"lang": "en"}, {"lang": "fr"}],
            "ignored": [1, 2],
        }
    ),
}


@pytest.mark.parametrize("name", list(TABLES))
@pytest.mark.parametrize("batch_size", [2, 1000])
def test_parquet_by_column_reads_what_the_per_row_reader_reads(
    tmp_path: Path, name: str, batch_size: int
) -> None:
    from embedlab.store._readers import RowFields, parquet_rows

    path = tmp_path / "rows.parquet"
    pq.write_table(TABLES[name](), path, row_group_size=3)
    fields = RowFields()
    got = list(parquet_rows(path, fields=fields, batch_size=batch_size).batches)
    assert all(len(b.ids) <= batch_size for b in got)
    assert all(b.vectors.dtype == np.float32 for b in got)
    assert _flat(got) == _flat(_reference(path, fields, None, batch_size))
    from embedlab.store import _arrow_rows, _readers

    chunk = next(pq.ParquetFile(path).iter_batches(batch_size=batch_size))
    by_column = _arrow_rows._columnar(chunk, _readers._RowParser(fields, None), 0)
    assert (by_column is None) == ("per-row" in name)  # the fast path is the one tested


BAD_TABLES = {
    "null vector": (lambda: pa.table({"id": ["a", "b"], "vector": [[1.0, 0.0], None]}), 1),
    "short vector": (lambda: pa.table({"id": ["a", "b"], "vector": [[1.0, 0.0], [1.0]]}), 1),
    "empty id": (lambda: pa.table({"id": ["a", ""], "vector": [[1.0, 0.0], [0.0, 1.0]]}), 1),
    "null id": (lambda: pa.table({"id": ["a", None], "vector": [[1.0, 0.0], [0.0, 1.0]]}), 1),
    "bad metadata": (
        lambda: pa.table({"id": ["a", "b"], "vector": [[1.0, 0.0], [0.0, 1.0]], "x": [1, 2**60]}),
        1,
    ),
    "string vector": (lambda: pa.table({"id": ["a"], "vector": ["1,2"]}), 0),
}


@pytest.mark.parametrize("name", list(BAD_TABLES))
def test_parquet_errors_name_the_row_as_the_per_row_reader_does(tmp_path: Path, name: str) -> None:
    from embedlab.errors import EmbedlabError
    from embedlab.store._readers import RowFields, parquet_rows

    make, row = BAD_TABLES[name]
    path = tmp_path / "rows.parquet"
    pq.write_table(make(), path)
    with pytest.raises(EmbedlabError) as expected:
        _reference(path, RowFields(), 2, 1000)
    with pytest.raises(type(expected.value)) as got:
        list(parquet_rows(path, dim=2).batches)
    assert str(got.value) == str(expected.value)
    assert f"row {row}" in str(got.value)


def test_jsonl_rows_are_parsed_by_orjson_when_installed() -> None:
    orjson = pytest.importorskip("orjson")
    from embedlab.store import _readers

    assert _readers._loads is orjson.loads


# -- notebook HTML ----------------------------------------------------------------------------
def test_repr_html_is_a_small_escaped_table(db: Database) -> None:
    col = db.create_collection("wide", dim=384, index="flat")
    rng = np.random.default_rng(1)
    col.add(
        [f"r{i}" for i in range(25)],
        rng.standard_normal((25, 384)),
        [{"i": i} for i in range(25)],
        ["<script>alert(1)</script> " + "long text " * 30] * 25,
    )
    result = col.query(rng.standard_normal(384), k=25, include=("metadata", "documents", "vectors"))
    for page in (result._repr_html_(), col._repr_html_()):
        assert page.count("<tr>") == 11  # header + 10 rows
        assert "15 more rows" in page
        assert "<script>" not in page and "&lt;script&gt;" in page
        assert len(page) < 8_000  # not a wall of floats: 25 x 384 of them would be ~250 kB
    assert "(384)" in result._repr_html_()
    assert "Collection &#x27;wide&#x27;: 25 rows, dim 384" in col._repr_html_()


def test_word_vectors_repr_html() -> None:
    wv = embedlab.WordVectors(
        [f"w{i}" for i in range(12)], np.ones((12, 50), np.float32), counts=np.arange(12, 0, -1)
    )
    page = wv._repr_html_()
    assert "WordVectors: 12 keys, dim 50" in page
    assert "<td>w0</td><td>12</td><td>[1, 1, 1, 1, …] (50)</td>" in page
    assert "2 more rows" in page


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [
        ("embedlab.integrations.langchain", "langchain_core", "langchain"),
        ("embedlab.integrations.llamaindex", "llama_index", "llamaindex"),
    ],
)
def test_integrations_without_their_framework_name_the_extra(
    module: str, blocked: str, extra: str
) -> None:
    code = f"""
import sys

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == {blocked!r}:
            raise ModuleNotFoundError("No module named " + name)

sys.meta_path.insert(0, Absent())
import embedlab.integrations
try:
    import {module}
except embedlab.MissingDependencyError as exc:
    print(exc)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert f"pip install 'embedlab[{extra}]'" in done.stdout, done.stderr
