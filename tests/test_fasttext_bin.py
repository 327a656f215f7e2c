"""Facebook fastText .bin models: gensim's loader as the oracle, truncated and foreign files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import FormatError, InvalidParameterError
from embedlab.io import (
    VectorFormat,
    detect_format,
    load_fasttext_bin,
    load_vectors,
    save_vectors,
)
from embedlab.subword_vectors import FastTextVectors
from embedlab.vectors import WordVectors

gensim_fasttext = pytest.importorskip("gensim.models.fasttext")
gensim_test = pytest.importorskip("gensim.test")
DATA = Path(gensim_test.__file__).parent / "test_data"

# Files with fastText's magic number (format versions 11 and 12), unsupervised.
MODELS = ["lee_fasttext_new.bin", "toy-model.bin", "toy-model-pretrained.bin"]
# fastText files older than version 11: no magic number; refused.
LEGACY = ["lee_fasttext.bin", "non_ascii_fasttext.bin", "cp852_fasttext.bin"]
SUPERVISED = "pang_lee_polarity_fasttext.bin"
OOV_WORDS = ["unseeable", "zzzq", "naïveté", "Fußball", "x"]


def _data(name: str) -> Path:
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"gensim test file {name} is not installed")
    return path


@pytest.mark.parametrize("name", MODELS)
def test_matches_gensim(name: str) -> None:
    path = _data(name)
    ours = load_fasttext_bin(path)
    theirs = gensim_fasttext.load_facebook_vectors(str(path))
    assert isinstance(ours, FastTextVectors)
    assert ours.keys == theirs.index_to_key
    assert ours.counts is not None
    assert ours.counts.tolist() == [theirs.get_vecattr(k, "count") for k in ours.keys]
    assert (ours.min_n, ours.max_n, ours.buckets) == (theirs.min_n, theirs.max_n, theirs.bucket)
    assert ours.ngram_buckets is None
    np.testing.assert_array_equal(ours.vectors_ngrams, theirs.vectors_ngrams)
    np.testing.assert_array_equal(ours.vectors_vocab, theirs.vectors_vocab)
    np.testing.assert_allclose(ours.vectors, theirs.vectors, rtol=0, atol=1e-5)
    for word in ours.keys[:: max(1, len(ours) // 20)]:
        np.testing.assert_allclose(ours[word], theirs[word], rtol=0, atol=1e-5)
    for word in OOV_WORDS:
        assert word not in ours.vocab
        np.testing.assert_allclose(ours[word], theirs[word], rtol=0, atol=1e-5)


def test_config_holds_the_training_arguments() -> None:
    ft = load_fasttext_bin(_data("toy-model.bin"))
    assert ft.config["kind"] == "fasttext"
    assert ft.config["source"] == "fasttext-bin"
    assert ft.config["version"] == 12
    assert ft.config["nlabels"] == 0
    args = ft.config["args"]
    assert args["dim"] == ft.dim == 5
    assert (args["minn"], args["maxn"], args["bucket"]) == (3, 6, 100)
    assert args["model"] == "cbow" and args["loss"] == "ns"
    assert args["t"] == pytest.approx(1e-4)


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_files_without_magic_are_refused(name: str) -> None:
    with pytest.raises(FormatError, match=r"magic number 793712314 .* at offset 0"):
        load_fasttext_bin(_data(name))


def test_supervised_model_loads_its_words_only() -> None:
    path = _data(SUPERVISED)
    with pytest.raises(FormatError, match=r"word \d+ at offset \d+ .* not valid UTF-8"):
        load_fasttext_bin(path)
    wv = load_fasttext_bin(path, unicode_errors="replace")
    assert type(wv) is WordVectors  # maxn 0: no subwords to compose from
    assert wv.config["nlabels"] == 2 and wv.config["args"]["model"] == "sup"
    assert not any(key.startswith("__label__") for key in wv.keys)
    # Oracle: the input matrix's word rows sit right before the output matrix
    # (bool flag, 2 x int64 header, nlabels x dim float32), which ends the file.
    count, dim, nlabels = len(wv), wv.dim, wv.config["nlabels"]
    output_bytes = 1 + 16 + nlabels * dim * 4
    start = path.stat().st_size - output_bytes - count * dim * 4
    rows = np.fromfile(path, dtype="<f4", count=count * dim, offset=start).reshape(count, dim)
    np.testing.assert_array_equal(wv.vectors, rows)


def test_detect_and_load_vectors() -> None:
    path = _data("toy-model.bin")
    assert detect_format(path) is VectorFormat.FASTTEXT_BIN
    full = load_vectors(path)
    assert isinstance(full, FastTextVectors)
    head = load_vectors(path, limit=5)
    assert isinstance(head, FastTextVectors)
    assert head.keys == full.keys[:5]
    np.testing.assert_array_equal(head.vectors, full.vectors[:5])
    np.testing.assert_array_equal(head["unseeable"], full["unseeable"])
    assert load_vectors(path, format="fasttext-bin").keys == full.keys


def test_saving_fasttext_bin_is_refused(tmp_path: Path) -> None:
    ft = load_fasttext_bin(_data("toy-model.bin"))
    with pytest.raises(InvalidParameterError, match=r"fastText \.bin format is not supported"):
        save_vectors(ft, tmp_path / "out.bin", format="fasttext-bin")
    assert not (tmp_path / "out.bin").exists()


def test_bad_unicode_errors_parameter() -> None:
    with pytest.raises(InvalidParameterError, match="unicode_errors"):
        load_fasttext_bin(_data("toy-model.bin"), unicode_errors="nonsense")


# -- malformed files ------------------------------------------------------------------------


def _offsets(path: Path) -> dict[str, int]:
    """Where the parts of an unsupervised model begin, computed from the file's end."""
    ft = load_fasttext_bin(path)
    size = path.stat().st_size
    output = 1 + 16 + len(ft) * ft.dim * 4
    input_ = 1 + 16 + (len(ft) + ft.buckets) * ft.dim * 4
    return {"input_flag": size - output - input_, "output_flag": size - output, "size": size}


@pytest.mark.parametrize("cut", [0, 2, 4, 7, 20, 60, 80, 300, 9_000, -460, -100, -1])
def test_truncated_file(tmp_path: Path, cut: int) -> None:
    source = _data("lee_fasttext_new.bin")
    data = source.read_bytes()
    target = tmp_path / "cut.bin"
    target.write_bytes(data[:cut])
    with pytest.raises(FormatError, match=r"offset \d+") as info:
        load_fasttext_bin(target)
    assert str(target) in str(info.value)


def test_truncated_at_each_part(tmp_path: Path) -> None:
    source = _data("toy-model.bin")
    data = source.read_bytes()
    parts = _offsets(source)
    for cut in (parts["input_flag"], parts["input_flag"] + 9, parts["output_flag"] + 1):
        target = tmp_path / f"cut{cut}.bin"
        target.write_bytes(data[:cut])
        with pytest.raises(FormatError, match=rf"expected .* at offset \d+, file ends at {cut}"):
            load_fasttext_bin(target)


def test_wrong_magic(tmp_path: Path) -> None:
    data = bytearray(_data("toy-model.bin").read_bytes())
    data[:4] = struct.pack("<i", 12345)
    target = tmp_path / "foreign.bin"
    target.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"expected the fastText magic .* offset 0; found 12345"):
        load_fasttext_bin(target)
    assert detect_format(target) is not VectorFormat.FASTTEXT_BIN


def test_unsupported_version(tmp_path: Path) -> None:
    data = bytearray(_data("toy-model.bin").read_bytes())
    data[4:8] = struct.pack("<i", 13)
    target = tmp_path / "future.bin"
    target.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"version 13 at offset 4 is not supported"):
        load_fasttext_bin(target)


def test_quantized_model_is_refused(tmp_path: Path) -> None:
    source = _data("toy-model.bin")
    data = bytearray(source.read_bytes())
    flag = _offsets(source)["input_flag"]
    assert data[flag] == 0
    data[flag] = 1
    target = tmp_path / "model.ftz"
    target.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="quantized models are not supported"):
        load_fasttext_bin(target)


def test_trailing_bytes(tmp_path: Path) -> None:
    target = tmp_path / "long.bin"
    target.write_bytes(_data("toy-model.bin").read_bytes() + b"\0" * 8)
    with pytest.raises(FormatError, match=r"end of the file .* at offset \d+; found 8 more bytes"):
        load_fasttext_bin(target)


def test_gzip_file_is_named(tmp_path: Path) -> None:
    import gzip

    target = tmp_path / "model.bin.gz"
    target.write_bytes(gzip.compress(_data("toy-model.bin").read_bytes()))
    with pytest.raises(FormatError, match="gzip"):
        load_fasttext_bin(target)
