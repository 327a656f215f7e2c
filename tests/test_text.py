"""Text in: the tokenizer's two paths, corpus readers, the interner, the scan and the vocabulary."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import embedlab.text.corpus as corpus_module
from embedlab.errors import CorpusError, InvalidParameterError, MissingFileError, UnknownKeyError
from embedlab.text import Corpus, Vocabulary, scan_corpus, tokenize
from embedlab.text._intern import SENTENCE_END, Interner
from embedlab.text.tokenize import block_to_token_bytes, canonical_token

# -- tokenize --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Cat SAT", ["the", "cat", "sat"]),
        ("Café au LAIT", ["café", "au", "lait"]),
        ("Don't stop—the Café's OPEN!", ["don't", "stop", "the", "café's", "open"]),
        ("'quoted' ''twice''", ["quoted", "twice"]),
        ("rock’n’roll ’tis", ["rock’n’roll", "tis"]),
        ("' ’ ''", []),
        ("route 66, 2024-01-31", ["route", "66", "2024", "01", "31"]),
        ("snake_case x.y a,b;c", ["snake_case", "x", "y", "a", "b", "c"]),
        ("hello... (world)? [yes]!", ["hello", "world", "yes"]),
        ("ΑΘΗΝΑ Москва 東京 ١٢٣", ["αθηνα", "москва", "東京", "١٢٣"]),
        ("", []),
        ("  \t  ", []),
    ],
)
def test_tokenize_examples(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def _interned_lines(block: str, interner: Interner | None = None) -> list[list[str]]:
    """Tokens of each line of block via block_to_token_bytes + the interner + canonical_token."""
    interner = interner or Interner()
    ids, n_words = interner.feed(block_to_token_bytes(block))
    keys = interner.keys()
    assert n_words == int((ids >= 0).sum())
    lines: list[list[str]] = [[]]
    for i in ids.tolist():
        if i == SENTENCE_END:
            lines.append([])
        else:
            token = canonical_token(keys[i])
            if token:
                lines[-1].append(token)
    assert lines[-1] == [], "a block must end with a line end"
    return lines[:-1]


_SPECIAL = [
    "a", "Z", "é", "É", "ß", "İ", "Σ", "ǅ", "ﬁ", "東", "ж", "٣", "7", "_", "²", "½", "Ⅻ", "①",
    "'", "’", "'", " ", "\t", ".", ",", "-", "!", "—", "\u00a0", "\u2028", "\x01", "\r",
    "😀", "👍🏽", "𝐀", "𝐚", "𝔘", "\U00020000", "\U0001f1eb",
]  # fmt: skip


def _check_lines(lines: list[str], interner: Interner | None = None) -> None:
    """The oracle: tokenize() on each line gives what the compiled block path gives."""
    block = "\n".join(lines) + "\n"
    assert _interned_lines(block, interner) == [tokenize(line) for line in lines]


def _random_line(rng: np.random.Generator, max_code_point: int) -> str:
    """A line of special characters and random code points (no surrogates, no newline)."""
    specials = [c for c in _SPECIAL if ord(max(c)) < max_code_point]
    chars = []
    for _ in range(int(rng.integers(0, 25))):
        if rng.random() < 0.5:
            chars.append(specials[int(rng.integers(len(specials)))])
        else:
            cp = int(rng.integers(0, max_code_point))
            if 0xD800 <= cp <= 0xDFFF or cp == 0x0A:
                cp = 0x20
            chars.append(chr(cp))
    return "".join(chars)


@pytest.mark.parametrize("max_code_point", [0x80, 0x10000, 0x30000], ids=["ascii", "bmp", "astral"])
def test_block_path_matches_tokenize_seeded_fuzz(max_code_point: int) -> None:
    """Each block stays within its range, so that each of the three code paths is checked."""
    rng = np.random.default_rng(20240531 + max_code_point)
    interner = Interner()  # one interner across all blocks, as scan_corpus uses it
    for _ in range(300):
        lines = [_random_line(rng, max_code_point) for _ in range(int(rng.integers(1, 7)))]
        _check_lines(lines)
        _check_lines(lines, interner)


_line_chars = st.one_of(
    st.sampled_from(_SPECIAL),
    st.characters(exclude_categories=("Cs",), exclude_characters="\n"),
)
_line = st.lists(_line_chars, max_size=25).map("".join)
_lines = st.lists(_line, min_size=1, max_size=6)


@given(_lines)
@settings(max_examples=300, deadline=None)
def test_block_path_matches_tokenize_property(lines: list[str]) -> None:
    _check_lines(lines)


@given(st.lists(_lines, min_size=2, max_size=4))
@settings(max_examples=100, deadline=None)
def test_block_path_matches_tokenize_across_blocks(blocks: list[list[str]]) -> None:
    interner = Interner()
    for lines in blocks:
        _check_lines(lines, interner)


@pytest.mark.parametrize(
    "lines",
    [
        ["plain ascii, only.", "Don't 'stop'"],  # the ASCII table
        ["Café’s naïve’", "’’ ΣΟΦΙΑ —x"],  # the BMP table
        ["emoji 😀 between𝐀𝐁words", "’tis 𝔘nicode’s", "no emoji here"],  # non-BMP path
    ],
)
def test_block_path_each_branch(lines: list[str]) -> None:
    _check_lines(lines)
    raw = block_to_token_bytes("\n".join(lines) + "\n")
    assert raw.count(b"\x01") == len(lines)


def test_interner_example_and_first_appearance_ids() -> None:
    interner = Interner()
    ids, words = interner.feed(b"b a b\x01\x01c  a\x01")
    assert ids.tolist() == [0, 1, 0, -1, -1, 2, 1, -1]
    assert words == 5
    assert interner.keys() == ["b", "a", "c"]
    assert interner.counts().tolist() == [2, 2, 1]
    assert len(interner) == 3


@pytest.mark.parametrize("block_tokens", [40_000, 3_000])
def test_interner_past_table_growth_matches_counter(block_tokens: int) -> None:
    rng = np.random.default_rng(11)
    n_distinct = 120_000
    # every distinct token at least once, plus repeats, in a random order
    stream = np.concatenate([np.arange(n_distinct), rng.integers(0, n_distinct, 60_000)])
    rng.shuffle(stream)
    tokens = [f"t{v}x" for v in stream.tolist()]
    interner = Interner()
    all_ids = []
    for start in range(0, len(tokens), block_tokens):
        part = tokens[start : start + block_tokens]
        ids, n_words = interner.feed((" ".join(part) + "\x01").encode())
        assert n_words == len(part)
        assert ids[-1] == SENTENCE_END
        all_ids.append(ids[:-1])
    keys = interner.keys()  # ids stay valid across growth: decode every block at the end
    assert [keys[i] for i in np.concatenate(all_ids).tolist()] == tokens
    assert all(interner.find(keys[i]) == i for i in range(0, len(keys), 997))
    assert interner.find("never-seen") == -1
    expected = Counter(tokens)
    assert len(interner) == len(expected) == n_distinct
    assert keys == list(expected)  # dict order is first appearance, as are the ids
    assert dict(zip(keys, interner.counts().tolist(), strict=True)) == dict(expected)


# -- Corpus ----------------------------------------------------------------------------------


def test_corpus_from_strings_is_reiterable() -> None:
    corpus = Corpus(["The cat sat.", "", "A dog ran!"])
    assert list(corpus) == [["the", "cat", "sat"], [], ["a", "dog", "ran"]]
    assert list(corpus) == list(corpus)
    assert corpus.files == []
    assert corpus.total_bytes() is None


def test_corpus_from_file_without_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("One two\nThree, four!\nfive", encoding="utf-8")
    corpus = Corpus(path)
    assert list(corpus.lines()) == ["One two", "Three, four!", "five"]
    assert list(corpus) == [["one", "two"], ["three", "four"], ["five"]]
    assert corpus.files == [path]
    assert corpus.total_bytes() == path.stat().st_size
    assert Corpus(str(path)).files == [path]


def test_corpus_from_directory_sorted_and_hidden_skipped(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("bee\n")
    (tmp_path / "a.txt").write_text("ant\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("cat\n")
    (tmp_path / ".hidden.txt").write_text("hidden\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("secret\n")
    corpus = Corpus(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in corpus.files] == [
        "a.txt",
        "b.txt",
        "sub/c.txt",
    ]
    assert list(corpus) == [["ant"], ["bee"], ["cat"]]


def test_corpus_from_glob(tmp_path: Path) -> None:
    (tmp_path / "x2.txt").write_text("second\n")
    (tmp_path / "x1.txt").write_text("first\n")
    (tmp_path / "y.md").write_text("other\n")
    corpus = Corpus(str(tmp_path / "x*.txt"))
    assert [p.name for p in corpus.files] == ["x1.txt", "x2.txt"]
    assert list(corpus) == [["first"], ["second"]]


def test_corpus_from_gzip(tmp_path: Path) -> None:
    path = tmp_path / "c.txt.gz"
    text = "Ünïcode line one\nline two’s end\n" * 50
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(text)
    corpus = Corpus(path)
    assert list(corpus.lines()) == text.splitlines()
    assert list(corpus) == [tokenize(line) for line in text.splitlines()]
    assert corpus.total_bytes() == path.stat().st_size


def test_invalid_utf8_is_replaced_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"caf\xe9 ok\n\xff\xfe x\nclean\n")
    corpus = Corpus(path)
    lines = list(corpus.lines())
    assert lines == ["caf\ufffd ok", "\ufffd\ufffd x", "clean"]
    assert corpus.replaced_bytes == 3
    assert next(iter(corpus)) == ["caf", "ok"]
    with pytest.warns(UnicodeWarning, match="3 bytes were not valid utf-8"):
        scan = scan_corpus(path)
    assert scan.replaced_bytes == 3
    assert scan.words == 4  # caf ok x clean


@pytest.mark.parametrize("kind", ["missing", "empty_dir", "hidden_only_dir", "no_match_glob"])
def test_missing_corpus_raises(tmp_path: Path, kind: str) -> None:
    if kind == "missing":
        source = tmp_path / "nope.txt"
    elif kind == "empty_dir":
        source = tmp_path / "empty"
        source.mkdir()
    elif kind == "hidden_only_dir":
        source = tmp_path / "hid"
        source.mkdir()
        (source / ".only").write_text("x\n")
    else:
        source = tmp_path / "*.nothing"
    with pytest.raises(MissingFileError) as info:
        Corpus(source)
    assert isinstance(info.value, FileNotFoundError)
    assert str(tmp_path) in str(info.value)


def test_corpus_rejects_non_strings() -> None:
    with pytest.raises(InvalidParameterError):
        Corpus(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="list of str"):
        list(Corpus([42]))  # type: ignore[list-item]
    with pytest.raises(InvalidParameterError, match="strings"):
        list(Corpus([42]).blocks())  # type: ignore[list-item]
    assert list(Corpus([["Already", "tokenized"]])) == [["Already", "tokenized"]]


# -- scan_corpus -----------------------------------------------------------------------------


def _check_id_file(scan, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
    ids = np.fromfile(scan.ids_path, dtype=np.int32)
    assert ids.dtype == np.int32
    bounds = scan.chunk_bounds
    assert bounds[0] == 0 and bounds[-1] == len(ids)
    assert np.all(np.diff(bounds) > 0)
    assert len(scan.chunk_words) == len(bounds) - 1
    for i in range(len(scan.chunk_words)):
        chunk = ids[bounds[i] : bounds[i + 1]]
        assert chunk[-1] == SENTENCE_END  # chunks hold whole lines
        assert scan.chunk_words[i] == int((chunk >= 0).sum())
    assert int(scan.chunk_words.sum()) == scan.words == int((ids >= 0).sum())
    assert scan.lines == int((ids == SENTENCE_END).sum()) == len(lines)
    decoded: list[list[str]] = [[]]
    for i in ids.tolist():
        if i == SENTENCE_END:
            decoded.append([])
        else:
            decoded[-1].append(canonical_token(scan.raw_keys[i]))
    assert decoded[:-1] == [tokenize(line) for line in lines]
    counts = Counter(scan.raw_keys[i] for i in ids.tolist() if i >= 0)
    assert dict(zip(scan.raw_keys, scan.raw_counts.tolist(), strict=True)) == dict(counts)


def test_scan_corpus_example() -> None:
    scan = scan_corpus(["a b a", "b c"])
    assert (scan.raw_keys, scan.raw_counts.tolist(), scan.words, scan.lines) == (
        ["a", "b", "c"],
        [2, 2, 1],
        5,
        2,
    )
    assert scan.ids_path is None


def test_scan_corpus_writes_ids_that_decode_back(tmp_path: Path) -> None:
    lines = ["The cat sat on the mat.", "", "Don't 'stop' now", "Café’s 😀 menu", "the END"]
    scan = scan_corpus(lines, ids_path=tmp_path / "ids.i32")
    assert scan.ids_path == tmp_path / "ids.i32"
    _check_id_file(scan, lines)
    assert len(scan.chunk_words) == 1


def test_scan_corpus_many_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus_module, "_BLOCK_BYTES", 200)
    rng = np.random.default_rng(5)
    words = ["alpha", "beta", "Gamma", "délta", "eps’ilon", "'zeta'"]
    lines = [" ".join(rng.choice(words, size=int(rng.integers(0, 9)))) for _ in range(300)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    events = []
    scan = scan_corpus(path, ids_path=tmp_path / "ids.i32", progress=events.append)
    assert len(scan.chunk_words) > 10
    _check_id_file(scan, lines)
    assert [e.words for e in events] == np.cumsum(scan.chunk_words).tolist()
    assert events[-1].bytes_read == events[-1].total_bytes == path.stat().st_size


# -- Vocabulary ------------------------------------------------------------------------------


def test_vocabulary_order_count_then_first_appearance() -> None:
    corpus = ["d c b a", "b c b a e", "a c"]  # a:3 c:3 b:3 ; d:1 e:1
    vocab = Vocabulary.build(corpus, min_count=1)
    # a, b, c tie at 3: first appearance in the corpus is c, b, a (after d)
    assert vocab.keys == ["c", "b", "a", "d", "e"]
    assert vocab.counts.tolist() == [3, 3, 3, 1, 1]
    assert vocab.total_words == 11
    assert vocab.unique_words == 5
    assert vocab["b"] == 1 and "e" in vocab and "z" not in vocab
    assert list(vocab) == vocab.keys and len(vocab) == 5
    with pytest.raises(UnknownKeyError):
        vocab["z"]


def test_vocabulary_matches_counter_oracle(planted_corpus) -> None:  # type: ignore[no-untyped-def]
    lines = planted_corpus.lines[:500]
    counter = Counter(t for line in lines for t in tokenize(line))
    first_seen: dict[str, int] = {}
    for token in (t for line in lines for t in tokenize(line)):
        first_seen.setdefault(token, len(first_seen))
    expected = sorted(counter, key=lambda w: (-counter[w], first_seen[w]))
    vocab = Vocabulary.build(lines, min_count=1)
    assert vocab.keys == expected
    assert vocab.counts.tolist() == [counter[w] for w in expected]
    assert vocab.retained_words == vocab.total_words == sum(counter.values())


_POOL = [
    "cat",
    "'cat'",
    "cat'",
    "’cat",
    "don't",
    "'don't",
    "dog",
    "a’b",
    "’a’b’",
    "x",
    "'x",
    "''",
    "’",
]


def _vocab_oracle(lines: list[str], min_count: int) -> tuple[list[str], list[int], int]:
    """Keys and counts by (count desc, first appearance), and the distinct tokens, via tokenize."""
    counts: dict[str, int] = {}
    for line in lines:
        for token in tokenize(line):
            counts[token] = counts.get(token, 0) + 1
    order = sorted(counts, key=lambda w: -counts[w])  # stable: ties keep first appearance
    kept = [w for w in order if counts[w] >= min_count]
    return kept, [counts[w] for w in kept], len(counts)


def test_vocabulary_with_apostrophe_variants_matches_oracle() -> None:
    rng = np.random.default_rng(8)
    for trial in range(40):
        lines = [
            " ".join(rng.choice(_POOL, size=int(rng.integers(0, 7))).tolist())
            for _ in range(int(rng.integers(1, 12)))
        ]
        for min_count in (1, 2, 3, 5):
            keys, counts, unique = _vocab_oracle(lines, min_count)
            if not keys:
                continue
            scan = scan_corpus(lines)
            vocab, remap = Vocabulary.from_scan(scan, min_count=min_count)
            assert vocab.keys == keys, (trial, lines, min_count)
            assert vocab.counts.tolist() == counts
            assert vocab.unique_words == unique
            # the optimised path agrees with folding every raw run
            full, full_remap = Vocabulary.from_raw(
                scan.raw_keys, scan.raw_counts, min_count=min_count, max_size=None
            )
            assert full.keys == keys and full.unique_words == unique
            assert remap.tolist() == full_remap.tolist()
            for raw, vid in zip(scan.raw_keys, remap.tolist(), strict=True):
                token = canonical_token(raw)
                assert vid == (keys.index(token) if token in keys else -2)


def test_vocabulary_min_count_and_max_size() -> None:
    counts = {"the": 9, "cat": 5, "sat": 5, "mat": 2, "rare": 1}
    assert Vocabulary.from_counts(counts, min_count=2).keys == ["the", "cat", "sat", "mat"]
    assert Vocabulary.from_counts(counts, min_count=5).keys == ["the", "cat", "sat"]
    vocab = Vocabulary.from_counts(counts, min_count=1, max_size=2)
    assert vocab.keys == ["the", "cat"]
    assert vocab.total_words == 22 and vocab.unique_words == 5 and vocab.retained_words == 14


def test_vocabulary_folds_outer_apostrophes() -> None:
    vocab = Vocabulary.build(["'cat' dog cat", "cat' ’cat’ don't 'don't'"], min_count=1)
    assert vocab.keys == ["cat", "don't", "dog"]
    assert vocab.counts.tolist() == [4, 2, 1]
    assert "'cat'" not in vocab


def test_from_raw_maps_raw_ids_to_vocab_ids() -> None:
    raw_keys = ["'a'", "b", "a", "''", "c"]
    vocab, remap = Vocabulary.from_raw(
        raw_keys, np.array([1, 1, 2, 5, 1]), min_count=2, max_size=None
    )
    assert vocab.keys == ["a"]
    assert remap.tolist() == [0, -2, 0, -2, -2]
    assert vocab.unique_words == 3  # a, b, c; the apostrophe run is no word


def test_keep_probabilities_match_word2vec_formula() -> None:
    counts = {"the": 1000, "of": 400, "cat": 20, "rare": 1}
    vocab = Vocabulary.from_counts(counts, min_count=1)
    total = sum(counts.values())
    for sample in (1e-3, 1e-2, 0.1):
        t = sample * total
        expected = [min(1.0, ((c / t) ** 0.5 + 1) * t / c) for c in counts.values()]
        got = vocab.keep_probabilities(sample)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert vocab.keep_probabilities(0).tolist() == [1.0] * 4
    with pytest.raises(InvalidParameterError):
        vocab.keep_probabilities(-0.1)


@pytest.mark.parametrize("corpus", [[], [""], ["  ...  ", "!!"]])
def test_vocabulary_empty_corpus(corpus: list[str]) -> None:
    with pytest.raises(CorpusError, match="empty"):
        Vocabulary.build(corpus, min_count=1)


def test_vocabulary_no_word_reaches_min_count() -> None:
    with pytest.raises(CorpusError, match="min_count=3") as info:
        Vocabulary.build(["a b a", "c"], min_count=3)
    assert isinstance(info.value, ValueError)
    assert "2 times" in str(info.value)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_vocabulary_min_count_invalid(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="min_count"):
        Vocabulary.build(["a b"], min_count=bad)  # type: ignore[arg-type]


def test_vocabulary_max_size_invalid() -> None:
    with pytest.raises(InvalidParameterError, match="max_size"):
        Vocabulary.from_counts({"a": 3}, min_count=1, max_size=0)


def test_scan_words_agree_with_tokenize_for_apostrophe_runs() -> None:
    lines = ["rock ' n ' roll", "’’ ok"]
    scan = scan_corpus(lines)
    assert scan.words == sum(len(tokenize(line)) for line in lines)


def test_apostrophes_only_corpus_is_empty() -> None:
    with pytest.raises(CorpusError, match="empty"):
        Vocabulary.build(["' '' ’"], min_count=1)
