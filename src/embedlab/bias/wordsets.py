"""Named word sets and WEAT tests: the ten bundled tests of Caliskan et al. 2017, and files.

A WEAT test pairs two *target* sets (X, Y: flowers and insects) with two *attribute* sets
(A, B: pleasant and unpleasant words). The bundled lists come from the supplementary
materials of Caliskan, Bryson and Narayanan, *Science* 2017 (see ``embedlab/data/README.md``).

A word-set file has one set a line, ``name: word, word, word`` (commas or spaces between
words; blank lines and ``#`` comments are skipped), or is a JSON object
``{"name": ["word", ...], ...}``.

Example:
    >>> test = weat_test("weat7")
    >>> test.targets[0].name, test.attributes[1].words[:2]
    ('math', ('female', 'woman'))
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass

from embedlab._validation import check_readable_file
from embedlab.datasets import default_weat_tests_path
from embedlab.errors import FormatError, InvalidParameterError

__all__ = ["WeatTest", "WordSet", "read_word_sets", "weat_test", "weat_tests"]


@dataclass(frozen=True)
class WordSet:
    """A named list of words (duplicates removed, order kept)."""

    name: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class WeatTest:
    """Targets X, Y and attributes A, B, with a plain description and where they come from."""

    name: str
    targets: tuple[WordSet, WordSet]
    attributes: tuple[WordSet, WordSet]
    description: str = ""
    origin: str = ""


@functools.cache
def weat_tests() -> dict[str, WeatTest]:
    """The ten bundled WEAT tests of Caliskan et al. 2017, by name (``weat1`` .. ``weat10``).

    Example:
        >>> sorted(weat_tests(), key=lambda n: int(n[4:]))[:3]
        ['weat1', 'weat2', 'weat3']
    """
    data = json.loads(default_weat_tests_path().read_text(encoding="utf-8"))
    tests: dict[str, WeatTest] = {}
    for item in data["tests"]:
        x, y = (WordSet(s["name"], tuple(s["words"])) for s in item["targets"])
        a, b = (WordSet(s["name"], tuple(s["words"])) for s in item["attributes"])
        tests[item["name"]] = WeatTest(
            item["name"], (x, y), (a, b), item["description"], item["origin"]
        )
    return tests


def weat_test(name: str) -> WeatTest:
    """One bundled test by name (``weat1`` .. ``weat10``; ``WEAT-7`` and ``7`` work too).

    Example:
        >>> weat_test("7").name
        'weat7'
    """
    tests = weat_tests()
    key = str(name).strip().lower().replace("-", "").replace("_", "")
    key = key if key.startswith("weat") else f"weat{key}"
    if key not in tests:
        valid = ", ".join(tests)
        raise InvalidParameterError(f"unknown WEAT test {name!r}; the bundled tests are {valid}")
    return tests[key]


_SPLIT = re.compile(r"[,\s]+")


def read_word_sets(path: str | os.PathLike[str], *, expected: int | None = 2) -> list[WordSet]:
    """The word sets in a file (see the module docstring for the format), in file order.

    ``expected`` (when not None) is the number of sets the file must hold.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
        >>> _ = p.write_text("male: he, him\\nfemale: she her\\n")
        >>> [s.words for s in read_word_sets(p)]
        [('he', 'him'), ('she', 'her')]
    """
    file = check_readable_file(path, what="word-set file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not valid UTF-8 ({exc.reason})", path=str(file)) from None
    sets = _json_sets(text, file.name) if text.lstrip().startswith("{") else _line_sets(text, file)
    for s in sets:
        if not s.words:
            raise FormatError(f"word set {s.name!r} has no words", path=str(file))
    if expected is not None and len(sets) != expected:
        raise FormatError(
            f"expected {expected} word sets, found {len(sets)} "
            f"({', '.join(repr(s.name) for s in sets) or 'none'})",
            path=str(file),
        )
    return sets


def _json_sets(text: str, name: str) -> list[WordSet]:
    """Sets from a JSON object of lists of strings."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON ({exc.msg})", path=name, line=exc.lineno) from None
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(w, str) for w in v) for v in data.values()
    ):
        raise FormatError('expected a JSON object {"name": ["word", ...], ...}', path=name)
    return [WordSet(str(k), tuple(dict.fromkeys(v))) for k, v in data.items()]


def _line_sets(text: str, file: os.PathLike[str]) -> list[WordSet]:
    """Sets from ``name: word, word`` lines."""
    sets = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, rest = line.partition(":")
        if not colon or not name.strip():
            raise FormatError(
                f"expected 'name: word, word, ...'; got {line[:60]!r}", path=str(file), line=number
            )
        words = tuple(dict.fromkeys(w for w in _SPLIT.split(rest) if w))
        sets.append(WordSet(name.strip(), words))
    return sets
