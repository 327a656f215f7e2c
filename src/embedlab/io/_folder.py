"""The embedlab folder: ``config.json``, ``vectors.npy`` and ``vocab.txt``. Never pickle.

Subword models (FastTextVectors) add ``vectors_vocab.npy``, ``ngrams.npy`` and, when
their n-gram rows cover only some buckets, ``ngram_buckets.npy``, declared by a
``"subwords"`` section of config.json. ``vectors.npy`` still holds the composed vectors,
so a reader that knows only WordVectors loads a meaningful model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from embedlab.errors import (
    DimensionMismatchError,
    FormatError,
    InvalidParameterError,
    MissingFileError,
)
from embedlab.io._files import check_output_path
from embedlab.io._text import check_finite_rows
from embedlab.vectors import WordVectors

if TYPE_CHECKING:
    from embedlab.subword_vectors import FastTextVectors

__all__ = ["load_folder", "save_folder"]

FORMAT_NAME = "embedlab-vectors"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
VECTORS_FILE = "vectors.npy"
VOCAB_FILE = "vocab.txt"
SUBWORDS_KEY = "subwords"
# Subword array (FastTextVectors.subword_arrays name) -> file, and whether it is required.
SUBWORD_FILES = {
    "vectors_vocab": ("vectors_vocab.npy", True),
    "vectors_ngrams": ("ngrams.npy", True),
    "ngram_buckets": ("ngram_buckets.npy", False),
}


@runtime_checkable
class Subworded(Protocol):
    """Vectors composed from subword parts that are saved beside them (FastTextVectors)."""

    def subword_config(self) -> dict[str, int]: ...

    def subword_arrays(self) -> dict[str, np.ndarray]: ...

    @classmethod
    def from_subwords(
        cls,
        keys: Sequence[str],
        arrays: Mapping[str, npt.ArrayLike],
        subwords: Mapping[str, int],
        *,
        counts: npt.ArrayLike | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> WordVectors: ...


def check_folder_path(path: str | os.PathLike[str]) -> Path:
    """Check, before any work, that a model folder can be saved at path; return it.

    An existing embedlab folder (or empty folder) there may be replaced; anything else is
    refused, as are the paths :func:`~embedlab.io._files.check_output_path` refuses.

    Example:
        >>> check_folder_path("model")  # doctest: +SKIP
        PosixPath('model')
    """
    target = check_output_path(path, folder=True, what="model folder")
    if target.exists() and any(target.iterdir()) and not (target / CONFIG_FILE).is_file():
        raise InvalidParameterError(
            f"refusing to replace {target}: it is not empty and not an embedlab folder"
        )
    return target


def save_folder(wv: WordVectors, path: str | os.PathLike[str]) -> None:
    """Save wv as an embedlab folder; ``wv.config`` is kept under the "model" key.

    The folder is written under a temporary name beside path and renamed into place, so
    a crash never leaves a folder that loads with the wrong content. An existing
    embedlab folder (or empty folder) at path is replaced; anything else is refused.
    FastTextVectors are saved with their word and n-gram rows, and load back as such.

    Example:
        >>> import numpy as np
        >>> wv = WordVectors(["a", "b"], np.eye(2, dtype=np.float32), counts=[5, 3])
        >>> save_folder(wv, "model")  # doctest: +SKIP
        >>> load_folder("model").counts.tolist()  # doctest: +SKIP
        [5, 3]
    """
    target = check_folder_path(path)
    for i, key in enumerate(wv.keys):
        if "\t" in key or "\n" in key or "\r" in key:
            raise InvalidParameterError(
                f"key {i} ({key!r}) cannot be saved in vocab.txt: keys must not contain "
                "tabs or line breaks"
            )
    problem = _json_problem(wv.config, "wv.config")
    if problem is not None:
        raise InvalidParameterError(
            f"{problem}; the config is saved as JSON and must load back equal"
        )
    config: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": _library_version(),
        "count": len(wv),
        "dim": wv.dim,
        "has_counts": wv.counts is not None,
        "model": wv.config,
    }
    arrays: dict[str, np.ndarray] = {}
    if isinstance(wv, Subworded):
        arrays = wv.subword_arrays()
        config[SUBWORDS_KEY] = {**wv.subword_config(), "ngram_buckets": "ngram_buckets" in arrays}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        with open(tmp / VECTORS_FILE, "wb") as f:
            np.save(f, np.ascontiguousarray(wv.vectors, dtype=np.float32), allow_pickle=False)
            _sync(f)
        for name, array in arrays.items():
            with open(tmp / SUBWORD_FILES[name][0], "wb") as f:
                np.save(f, np.ascontiguousarray(array), allow_pickle=False)
                _sync(f)
        with open(tmp / VOCAB_FILE, "w", encoding="utf-8", newline="\n") as f:
            if wv.counts is None:
                f.writelines(f"{key}\n" for key in wv.keys)
            else:
                f.writelines(
                    f"{k}\t{c}\n" for k, c in zip(wv.keys, wv.counts.tolist(), strict=True)
                )
            _sync(f)
        with open(tmp / CONFIG_FILE, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, ensure_ascii=False, allow_nan=False)
            f.write("\n")
            _sync(f)
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_folder(path: str | os.PathLike[str], *, mmap: bool = False) -> WordVectors:
    """Load an embedlab folder written by :func:`save_folder`, checking its consistency.

    ``mmap=True`` maps ``vectors.npy`` read-only instead of reading it into memory. A
    folder with a ``"subwords"`` section in config.json gives back FastTextVectors.

    Example:
        >>> wv = load_folder("model")  # doctest: +SKIP
    """
    folder = Path(path)
    if not folder.is_dir():
        raise MissingFileError(f"embedlab folder not found: {folder}")
    config_path = folder / CONFIG_FILE
    config = _read_config(config_path)
    count, dim = config["count"], config["dim"]
    subwords = config.get(SUBWORDS_KEY)
    vectors_path = folder / VECTORS_FILE
    if not vectors_path.is_file():
        raise MissingFileError(f"{VECTORS_FILE} not found in {folder}")
    # Subword models recompose their vectors: vectors.npy is only checked, so mapped.
    vectors = _load_npy(vectors_path, mmap=mmap or subwords is not None)
    if vectors.ndim != 2 or vectors.dtype != np.float32 or vectors.shape != (count, dim):
        raise FormatError(
            f"expected a float32 matrix of shape ({count}, {dim}) as {CONFIG_FILE} declares; "
            f"found {vectors.dtype} of shape {vectors.shape}",
            path=str(vectors_path),
        )
    keys, counts = _read_vocab(folder / VOCAB_FILE, count, bool(config.get("has_counts")))
    if subwords is not None:
        return _load_subwords(folder, config, keys, counts, mmap=mmap)
    check_finite_rows(vectors, str(vectors_path), keys=keys)  # a NaN would spread silently
    return WordVectors(keys, vectors, counts=counts, config=config.get("model") or {})


def _load_subwords(
    folder: Path,
    config: dict[str, Any],
    keys: list[str],
    counts: list[int] | None,
    *,
    mmap: bool,
) -> FastTextVectors:
    """Rebuild FastTextVectors from the subword files config.json declares."""
    from embedlab.subword_vectors import FastTextVectors  # numba: imported only when needed

    subwords = config[SUBWORDS_KEY]
    arrays: dict[str, np.ndarray] = {}
    for name, (file_name, required) in SUBWORD_FILES.items():
        if not (required or subwords["ngram_buckets"]):
            continue
        path = folder / file_name
        if not path.is_file():
            raise FormatError(
                f"{CONFIG_FILE} declares a subword model but {file_name} is missing",
                path=str(folder),
            )
        arrays[name] = _load_npy(path, mmap=mmap)
    dim = config["dim"]
    for name in ("vectors_vocab", "vectors_ngrams"):
        array = arrays[name]
        if array.ndim != 2 or array.dtype != np.float32 or array.shape[1] != dim:
            raise FormatError(
                f"expected a float32 matrix with {dim} columns as {CONFIG_FILE} declares; "
                f"found {array.dtype} of shape {array.shape}",
                path=str(folder / SUBWORD_FILES[name][0]),
            )
    buckets = arrays.get("ngram_buckets")
    if buckets is not None and (buckets.ndim != 1 or buckets.dtype.kind not in "iu"):
        raise FormatError(
            f"expected a 1-D integer array of bucket ids; found {buckets.dtype} of shape "
            f"{buckets.shape}",
            path=str(folder / SUBWORD_FILES["ngram_buckets"][0]),
        )
    settings = {k: subwords[k] for k in ("min_n", "max_n", "buckets")}
    try:
        return FastTextVectors.from_subwords(
            keys, arrays, settings, counts=counts, config=config.get("model") or {}
        )
    except (InvalidParameterError, DimensionMismatchError) as err:
        raise FormatError(f"inconsistent subword files: {err}", path=str(folder)) from None


def _load_npy(path: Path, *, mmap: bool) -> np.ndarray:
    """One .npy array (never pickled objects), mapped read-only when asked."""
    try:
        array: np.ndarray = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except (ValueError, OSError, EOFError) as err:
        raise FormatError(f"not a readable .npy file ({err})", path=str(path)) from None
    return array


def _read_config(config_path: Path) -> dict[str, Any]:
    """Parse config.json and check the fields the loader relies on."""
    name = str(config_path)
    if not config_path.is_file():
        raise MissingFileError(f"{CONFIG_FILE} not found in {config_path.parent}")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise FormatError(f"invalid JSON: {err.msg}", path=name, line=err.lineno) from None
    except UnicodeDecodeError as err:
        raise FormatError(f"not UTF-8 text ({err.reason})", path=name) from None
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise FormatError(f'expected "format": {FORMAT_NAME!r}; found {found!r}', path=name)
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise FormatError(
            f"format_version {version!r} is not supported (this embedlab reads up to "
            f"{FORMAT_VERSION}); upgrade embedlab",
            path=name,
        )
    for field in ("count", "dim"):
        value = config.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise FormatError(
                f"{field!r} must be a non-negative integer; found {value!r}", path=name
            )
    if not isinstance(config.get("model", {}), dict):
        raise FormatError(f"'model' must be an object; found {config['model']!r}", path=name)
    subwords = config.get(SUBWORDS_KEY)
    if subwords is not None:
        fields = {"min_n": int, "max_n": int, "buckets": int, "ngram_buckets": bool}
        if not isinstance(subwords, dict) or any(
            type(subwords.get(field)) is not kind for field, kind in fields.items()
        ):
            raise FormatError(
                f"{SUBWORDS_KEY!r} must be an object with integers 'min_n', 'max_n', "
                f"'buckets' and a boolean 'ngram_buckets'; found {subwords!r}",
                path=name,
            )
    return config


def _read_vocab(
    vocab_path: Path, count: int, has_counts: bool
) -> tuple[list[str], list[int] | None]:
    """One key a line, "key<TAB>count" when counts were saved."""
    name = str(vocab_path)
    if not vocab_path.is_file():
        raise MissingFileError(f"{VOCAB_FILE} not found in {vocab_path.parent}")
    data = vocab_path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        bad = data.count(b"\n", 0, err.start) + 1
        raise FormatError(f"not UTF-8 text ({err.reason})", path=name, line=bad) from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if len(lines) != count:
        raise FormatError(
            f"number of keys ({len(lines)}) does not match number of vectors ({count})", path=name
        )
    keys: list[str] = []
    counts: list[int] = []
    for line_no, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        if has_counts:
            key, tab, number = line.rpartition("\t")
            try:
                counts.append(int(number))
            except ValueError:
                tab = ""
            if not tab:
                raise FormatError(
                    f"expected 'key<TAB>count'; found {line!r}", path=name, line=line_no
                )
        else:
            key = line
            if "\t" in key:
                raise FormatError(
                    f"expected a key without counts; found {line!r}", path=name, line=line_no
                )
        keys.append(key)
    if len(set(keys)) != len(keys):
        seen: dict[str, int] = {}
        for line_no, key in enumerate(keys, start=1):
            if key in seen:
                raise FormatError(
                    f"duplicate key {key!r} (first on line {seen[key]})", path=name, line=line_no
                )
            seen[key] = line_no
    return keys, counts if has_counts else None


def _json_problem(value: object, where: str) -> str | None:
    """Why value would not load back equal from JSON, or None if it would."""
    if value is None or type(value) in (bool, int, str):
        return None
    if type(value) is float:
        return None if np.isfinite(value) else f"{where} is {value!r}, which JSON cannot hold"
    if type(value) is list:
        for i, item in enumerate(value):
            problem = _json_problem(item, f"{where}[{i}]")
            if problem is not None:
                return problem
        return None
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                return f"{where} has the non-string key {key!r}"
            problem = _json_problem(item, f"{where}[{key!r}]")
            if problem is not None:
                return problem
        return None
    return (
        f"{where} is a {type(value).__name__} ({value!r}); "
        "use lists, dicts, str, int, float, bool or None"
    )


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Rename the finished folder onto target, moving any old folder aside first."""
    if not target.exists():
        os.rename(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    old.rmdir()
    os.rename(target, old)
    os.rename(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def _sync(f: Any) -> None:
    f.flush()
    os.fsync(f.fileno())


def _library_version() -> str:
    """embedlab.__version__ when defined, else the installed distribution's version."""
    import embedlab

    version = getattr(embedlab, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return metadata.version("embedlab")
    except metadata.PackageNotFoundError:
        return "unknown"
