"""Rebuild src/embedlab/data/wordnet-glosses.txt.gz from WordNet 3.0 (apt-get install wordnet-base).

One synset a line: its lemmas, a colon, then its gloss (definition and usage examples).
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

WORDNET = Path("/usr/share/wordnet")
OUT = Path(__file__).resolve().parents[1] / "src" / "embedlab" / "data" / "wordnet-glosses.txt.gz"


def synset_lines(data_file: Path) -> list[str]:
    """Lines 'lemma, lemma: gloss' from one WordNet data.* file."""
    lines = []
    for line in data_file.read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):  # the licence header
            continue
        head, _, gloss = line.partition(" | ")
        fields = head.split()
        n_lemmas = int(fields[3], 16)
        lemmas = [
            re.sub(r"\(.*\)$", "", fields[4 + 2 * i]).replace("_", " ") for i in range(n_lemmas)
        ]
        lines.append(", ".join(lemmas) + ": " + gloss.strip())
    return lines


def main() -> None:
    """Write the corpus and print its size."""
    out = []
    for pos in ("noun", "verb", "adj", "adv"):
        out.extend(synset_lines(WORDNET / f"data.{pos}"))
    text = "\n".join(out) + "\n"
    with gzip.GzipFile(OUT, "wb", compresslevel=9, mtime=0) as handle:
        handle.write(text.encode("utf-8"))
    print(f"{len(out)} lines, {len(text.split())} words -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
