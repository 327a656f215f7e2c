"""Retrieval sets of benchmarks/retrieval.py built from Debian's package descriptions
(bookworm, main): the one-line synopsis is the query, the long description the document.

The descriptions come from the archive's ``Translation-en`` index (apt leaves it out when
``Acquire::Languages`` is ``none``, as in most containers): a copy apt already keeps under
/var/lib/apt/lists is used, else apt fetches it (``apt-get -o Acquire::Languages=en
update``), and ``apt-helper cat-file`` reads it whatever its compression.
``apt-cache dumpavail`` (after ``apt-get update``) maps each package to its source package.

Packages of one source often share their long description (``foo``, ``foo-data``,
``foo-doc``), so each source package gives at most one document: its binary package with
the longest description, and only if no other package in the archive has the same
description or the same synopsis. The package's name and its source's name are removed
from both sides (whole words, any case), so they cannot be matched literally. Three shapes,
each 1,000 documents and 200 dev + 200 test queries (queries split by package):

- ``debian-short``: descriptions of 15 to 60 words;
- ``debian-long``: descriptions of 150 words or more (many beyond minilm's 256 tokens);
- ``debian-mixed``: any length from 15 words, each package drawn with a chance in
  proportion to its length (short ones still the most, long ones common).
"""

from __future__ import annotations

import glob
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

SHAPES = {"debian-short": (15, 60), "debian-long": (150, None), "debian-mixed": (15, None)}


TRANSLATION_GLOB = "/var/lib/apt/lists/*_dists_bookworm_main_i18n_Translation-en*"


def translation_file() -> Path:
    """Debian's Translation-en index as apt keeps it (fetched by apt itself when missing)."""
    found = sorted(glob.glob(TRANSLATION_GLOB))
    if not found:  # apt skips translations here (Acquire::Languages "none"); ask for English
        subprocess.run(["apt-get", "-o", "Acquire::Languages=en", "update", "-qq"], check=True)
        found = sorted(glob.glob(TRANSLATION_GLOB))
    if not found:
        raise SystemExit(f"apt fetched no Translation-en index ({TRANSLATION_GLOB})")
    return Path(found[0])


def descriptions() -> dict[str, tuple[str, str]]:
    """Package -> (synopsis, long description as one line of text)."""
    path = translation_file()  # apt stores it compressed (lz4, xz, ...): apt-helper reads any
    text = subprocess.run(
        ["/usr/lib/apt/apt-helper", "cat-file", str(path)],
        check=True,
        capture_output=True,
        text=True,
        encoding="utf-8",
    ).stdout
    out = {}
    for stanza in text.split("\n\n"):
        match = re.search(r"(?m)^Package: (\S+)$", stanza)
        described = re.search(r"(?ms)^Description-en: ([^\n]*)\n?(.*)", stanza)
        if match is None or described is None:
            continue
        lines = [line[1:] for line in described.group(2).split("\n") if line.startswith(" ")]
        body = " ".join(line.strip() for line in lines if line.strip() != ".")
        out[match.group(1)] = (described.group(1).strip(), " ".join(body.split()))
    return out


def sources() -> dict[str, str]:
    """Package -> its source package (itself when Packages names none)."""
    dump = subprocess.run(
        ["apt-cache", "dumpavail"], check=True, capture_output=True, text=True
    ).stdout
    out = {}
    for stanza in dump.split("\n\n"):
        package = re.search(r"(?m)^Package: (\S+)$", stanza)
        source = re.search(r"(?m)^Source: (\S+)", stanza)
        if package is not None:
            out[package.group(1)] = source.group(1) if source else package.group(1)
    return out


def without_names(text: str, names: set[str]) -> str:
    """text with each name removed as a whole word (any case)."""
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def candidates() -> list[dict[str, str]]:
    """One (package, synopsis, description) per source package, as the module says."""
    described, source_of = descriptions(), sources()
    synopsis_count: dict[str, int] = {}
    body_count: dict[str, int] = {}
    for synopsis, body in described.values():
        synopsis_count[synopsis.lower()] = synopsis_count.get(synopsis.lower(), 0) + 1
        body_count[body] = body_count.get(body, 0) + 1
    best: dict[str, str] = {}
    for package in sorted(described):
        synopsis, body = described[package]
        if synopsis_count[synopsis.lower()] > 1 or body_count[body] > 1:
            continue
        source = source_of.get(package, package)
        if source not in best or len(body) > len(described[best[source]][1]):
            best[source] = package
    out = []
    for source, package in sorted(best.items()):
        names = {package, source}
        synopsis, body = (without_names(t, names) for t in described[package])
        if len(synopsis.split()) >= 3 and body:
            out.append({"word": package, "query": synopsis, "text": body})
    return out


def debian_set(
    shape: str, n_docs: int, n_queries: int, seed: int, pool: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """n_docs documents of the shape, and n_queries dev and n_queries test synopses."""
    low, high = SHAPES[shape]
    pool = [
        c
        for c in (candidates() if pool is None else pool)
        if len(c["text"].split()) >= low and (high is None or len(c["text"].split()) <= high)
    ]
    if len(pool) < n_docs or n_docs < 2 * n_queries:
        raise SystemExit(f"{len(pool)} {shape} packages; asked for {n_docs} documents")
    rng = np.random.default_rng(seed)
    weights = np.array([len(c["text"].split()) for c in pool], dtype=float)
    chance = weights / weights.sum() if shape == "debian-mixed" else None
    picked = rng.choice(len(pool), size=n_docs, replace=False, p=chance)
    chosen = [pool[i] for i in sorted(picked)]
    order = rng.permutation(n_docs)
    dev, test = sorted(order[:n_queries]), sorted(order[n_queries : 2 * n_queries])
    return {
        "candidates": len(pool),
        "documents": [{"word": c["word"], "text": c["text"]} for c in chosen],
        "dev": [{"word": chosen[i]["word"], "text": chosen[i]["query"]} for i in dev],
        "test": [{"word": chosen[i]["word"], "text": chosen[i]["query"]} for i in test],
    }
