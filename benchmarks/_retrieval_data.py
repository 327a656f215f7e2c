"""The retrieval sets of benchmarks/retrieval.py, built from two dictionaries nobody on the
project wrote: WordNet 3.0 (Debian's wordnet-base) and GCIDE (Webster 1913 and its later
editors; Debian's dict-gcide).

The headword (and its plural) is removed from documents and queries alike, so it cannot be
matched literally; GCIDE's senses taken from WordNet are left out, and a pair that still
shares a run of 6 words (a copy) is not used.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

WORDNET = Path("/usr/share/wordnet")
GCIDE = Path("/usr/share/dictd/gcide")
CACHE = Path(tempfile.gettempdir()) / "embedlab-retrieval"
QUERY_WORDS = 64
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TAG = re.compile(r"\[([^\]]*(?:Webster|WordNet|PJC)[^\]]*)\].*")
_SKIPPED = ("Note:", "Usage:", "Syn.", "Syn:", "{", "--")
ACCENT = re.compile(r"\[[\"'`^~=.]?([A-Za-z]{1,2})[\"'`^~=.,]?\]")
_CITATION = re.compile(r"\s--\s?[A-Z][^;:]*?(?=$|\s\d+\.|\s\([a-z]\))")


def wordnet_senses() -> dict[str, list[str]]:
    """Single-word noun -> the glosses of its senses, most frequent first."""
    glosses: dict[int, str] = {}
    with open(WORDNET / "data.noun", encoding="latin-1") as handle:
        for line in handle:
            if line.startswith("  "):  # the licence header
                continue
            head, _, gloss = line.partition(" | ")
            glosses[int(head.split()[0])] = gloss.strip()
    out = {}
    with open(WORDNET / "index.noun", encoding="latin-1") as handle:
        for line in handle:
            if line.startswith("  "):
                continue
            fields = line.split()
            lemma, n_synsets = fields[0], int(fields[2])
            if lemma.isalpha():
                out[lemma] = [glosses[int(f)] for f in fields[-n_synsets:]]
    return out


def wordnet_nouns() -> dict[str, str]:
    """Single-word noun -> the glosses of all its senses, joined ('a; b. c; d')."""
    return {
        lemma: ". ".join(g.rstrip(" ;.") for g in senses) + "."
        for lemma, senses in wordnet_senses().items()
    }


def gcide_nouns() -> dict[str, str]:
    """Lowercased single-word headword -> its noun definitions from the Webster side of GCIDE."""
    with gzip.open(f"{GCIDE}.dict.dz") as handle:
        data = handle.read()
    out: dict[str, list[str]] = {}
    with open(f"{GCIDE}.index", encoding="utf-8") as handle:
        for line in handle:
            word, offset, length = line.rstrip("\n").split("\t")
            if not word.isalpha() or not word.isascii() or word.startswith("00"):
                continue
            start = decode64(offset)
            text = _noun_definitions(
                data[start : start + decode64(length)].decode("utf-8", "replace")
            )
            if text:
                out.setdefault(word.lower(), []).append(text)
    return {word: " ".join(parts) for word, parts in out.items()}


def decode64(text: str) -> int:
    """A dictd index number (base 64, most significant digit first)."""
    value = 0
    for char in text:
        value = value * 64 + _B64.index(char)
    return value


def _noun_definitions(entry: str) -> str:
    """The definitions of one GCIDE entry if it is a noun ('' otherwise).

    Drops the header (headword, pronunciation, part of speech, etymology), quotations,
    notes, synonym lists, run-in phrases ({Apple blight}, ...), citations (--Shak.),
    source tags, and every paragraph GCIDE took from WordNet.
    """
    header = re.match(r"(?s)(?:[^\\\n]+\\[^\\]*\\,?\s*)+(?:\([^)]*\),?\s*)?", entry)
    if header is None:
        return ""
    rest = entry[header.end() :]
    if not re.match(r"n\.(?:\s|;|,|$)", rest):
        return ""
    rest = re.sub(r"^(?:pl\.(?:\s*\{[^}]*\}[,.]?)*)", "", rest[2:].lstrip(" ;,")).lstrip(" ;,")
    if rest.startswith("["):
        rest = rest[_bracket_end(rest) :]
    kept = []
    for paragraph in re.split(r"\n\s*\n", rest):
        tags = [tag.strip() for tag in _TAG.findall(paragraph)]
        if any("WordNet" in tag for tag in tags) or (tags and all(t == "PJC" for t in tags)):
            continue  # taken from WordNet, or added by the editor who imported WordNet
        lines = paragraph.split("\n")
        indent = len(lines[0]) - len(lines[0].lstrip())
        body = " ".join(_TAG.sub("", line).strip() for line in lines).strip()
        if not body or indent >= 8 or body.startswith(_SKIPPED):
            continue
        kept.append(body)
    text = " ".join(kept)
    text = ACCENT.sub(r"\1", text).replace("{", "").replace("}", "")
    text = _CITATION.sub("", text)
    text = re.sub(r"\s*\[(?:Obs|R|Colloq|Archaic)\.?\]", "", text)
    text = re.sub(r"(?:^|\s)(?:\d+\.|\([a-z]\))\s", " ", text)
    return " ".join(text.split())


def _bracket_end(text: str) -> int:
    """Index just past the bracket that opens text[0], nested brackets counted."""
    depth = 0
    for i, char in enumerate(text):
        depth += (char == "[") - (char == "]")
        if depth == 0:
            return i + 1
    return len(text)


def without_word(text: str, word: str) -> str:
    """text with word removed, as a whole word, in any case, with an s/es/ies plural."""
    stem = re.escape(word[:-1]) + "ies|" if word.endswith("y") else ""
    pattern = rf"\b(?:{stem}{re.escape(word)}(?:e?s)?)\b"
    return " ".join(re.sub(pattern, " ", text, flags=re.IGNORECASE).split())


def _copied(a: str, b: str, n: int = 6) -> bool:
    """Whether two texts share a run of n words: one copied from the other (GCIDE took
    definitions from WordNet, not always tagged)."""

    def grams(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"[a-z0-9]+", text.lower())
        return set(zip(*(words[i:] for i in range(n)), strict=False))

    return bool(grams(a) & grams(b))


def glosses_set(n_docs: int, n_queries: int, seed: int) -> dict[str, Any]:
    """The short-document set: WordNet glosses searched with GCIDE definitions.

    Documents: for n_docs nouns, the WordNet glosses of all the word's senses, joined.
    Queries: the same word's GCIDE noun definitions, cut to their first 64 words; n_queries
    to tune on (dev) and n_queries others to score (test).
    """
    wordnet, gcide = wordnet_nouns(), gcide_nouns()
    pairs = []
    for word in sorted(wordnet.keys() & gcide.keys()):
        if len(word) < 3:
            continue
        doc = without_word(wordnet[word], word)
        query = " ".join(without_word(gcide[word], word).split()[:QUERY_WORDS])
        if len(doc.split()) >= 5 and len(query.split()) >= 5 and not _copied(doc, query):
            pairs.append((word, doc, query))
    if len(pairs) < n_docs or n_docs < 2 * n_queries:
        raise SystemExit(f"{len(pairs)} words in both dictionaries; asked for {n_docs} documents")
    rng = np.random.default_rng(seed)
    chosen = [pairs[i] for i in sorted(rng.choice(len(pairs), size=n_docs, replace=False))]
    order = rng.permutation(n_docs)
    dev, test = order[:n_queries], order[n_queries : 2 * n_queries]
    return {
        "candidates": len(pairs),
        "documents": [{"word": w, "text": d} for w, d, _ in chosen],
        "dev": [{"word": chosen[i][0], "text": chosen[i][2]} for i in sorted(dev)],
        "test": [{"word": chosen[i][0], "text": chosen[i][2]} for i in sorted(test)],
    }


def entries_set(min_words: int, seed: int) -> dict[str, Any]:
    """The long-document set: GCIDE entries searched with one WordNet sense each.

    Documents: every noun whose GCIDE noun definitions (all senses, uncut) run to at least
    min_words words: many are longer than minilm's 256-token window. Queries: one sense of
    the same word in WordNet, drawn at random (its gloss without the example sentences),
    so the relevant passage can sit anywhere in the document. Half the words' queries
    are dev, the other half test.
    """
    senses, gcide = wordnet_senses(), gcide_nouns()
    rng = np.random.default_rng(seed)
    documents, queries = [], []
    for word in sorted(senses.keys() & gcide.keys()):
        doc = without_word(gcide[word], word)
        if len(word) < 3 or len(doc.split()) < min_words:
            continue
        glosses = [without_word(g.split('"')[0].strip(" ;"), word) for g in senses[word]]
        usable = [g for g in glosses if len(g.split()) >= 5 and not _copied(g, doc)]
        if usable:
            documents.append({"word": word, "text": doc})
            queries.append({"word": word, "text": usable[rng.integers(len(usable))]})
    order = rng.permutation(len(queries))
    half = len(order) // 2
    return {
        "candidates": len(documents),
        "documents": documents,
        "dev": [queries[i] for i in sorted(order[:half])],
        "test": [queries[i] for i in sorted(order[half:])],
    }


WORDNET_SOURCES = (WORDNET / "data.noun", Path(f"{GCIDE}.dict.dz"))


def load_dataset(
    name: str, build: Callable[[], dict[str, Any]], sources: Sequence[Path] | None = None
) -> dict[str, Any]:
    """build(), cached as JSON under the temporary folder by name; ``sources`` are files
    the build needs (checked before it starts)."""
    path = CACHE / f"{name}.json"
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded
    for source in sources or ():
        if not source.exists():
            raise SystemExit(f"{source} not found: apt-get install wordnet-base dict-gcide")
    print(f"building the data set {name}...", file=sys.stderr)
    dataset = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dataset, indent=1), encoding="utf-8")
    return dataset
