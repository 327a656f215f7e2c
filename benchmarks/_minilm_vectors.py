"""Real 384-d sentence vectors for the analysis benchmarks: MiniLM (embedlab's ONNX
backend, int8) over Debian's package synopses and WordNet glosses, cached as .npy.

    python benchmarks/_minilm_vectors.py            # builds (resumable), prints the paths

Texts, in this order (fixed, so row i is always the same text):
1. the one-line synopsis of every binary package of ``apt-cache dumpavail`` (run
   ``apt-get update`` first), in the order benchmarks/analysis_debian.py's
   ``packages()`` lists them;
2. WordNet glosses (Debian's ``wordnet-base``: /usr/share/wordnet/data.{noun,verb,adj,adv},
   the text after "| "), duplicates of a synopsis or an earlier gloss dropped, shuffled
   with seed 0, as many as needed to reach --rows (100,000).

Rows are unit length (float32). Encoding runs in chunks of 4,096 saved as they finish,
so a killed build resumes where it stopped. Nothing here is committed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analysis_debian import CACHE, packages

WORDNET = Path("/usr/share/wordnet")
CHUNK = 4096


def glosses() -> list[str]:
    """WordNet glosses of every synset (data.* files), in file order."""
    out = []
    for pos in ("noun", "verb", "adj", "adv"):
        for line in (WORDNET / f"data.{pos}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  ") or "|" not in line:
                continue  # the licence header lines start with two spaces
            out.append(line.split("|", 1)[1].strip())
    return out


def texts(rows: int) -> list[str]:
    """Synopses first, then shuffled unseen glosses up to ``rows``."""
    out = [p["short"] for p in packages()]
    seen = set(out)
    extra = [g for g in dict.fromkeys(glosses()) if g not in seen]
    order = np.random.default_rng(0).permutation(len(extra))
    out += [extra[i] for i in order[: max(rows - len(out), 0)]]
    return out[:rows]


def build(rows: int = 100_000) -> Path:
    """Encode (resuming), return the path of the (rows, 384) unit float32 array."""
    from embedlab import encoders

    final = CACHE / f"minilm-{rows}.npy"
    if final.is_file():
        return final
    items = texts(rows)
    (CACHE / f"minilm-{rows}.json").write_text(json.dumps(items))
    parts = CACHE / f"minilm-{rows}-parts"
    parts.mkdir(parents=True, exist_ok=True)
    enc = encoders.load("minilm", backend="onnx")
    for start in range(0, len(items), CHUNK):
        part = parts / f"{start:07d}.npy"
        if part.is_file():
            continue
        t = time.perf_counter()
        x = np.asarray(enc.encode(items[start : start + CHUNK], batch_size=64, normalize=True))
        np.save(part, x.astype(np.float32))
        rate = CHUNK / (time.perf_counter() - t)
        print(f"{start + CHUNK}/{len(items)} ({rate:.0f} texts/s)", flush=True)
    x = np.concatenate([np.load(parts / f"{s:07d}.npy") for s in range(0, len(items), CHUNK)])
    np.save(final, x)
    return final


def head(count: int, rows: int = 100_000) -> np.ndarray:
    """The first ``count`` rows, from the finished file or from the chunks saved so far
    (the synopses come first, so the Debian benchmarks can start before the glosses end)."""
    final = CACHE / f"minilm-{rows}.npy"
    if final.is_file():
        return np.asarray(np.load(final, mmap_mode="r")[:count])
    parts = CACHE / f"minilm-{rows}-parts"
    chunks = [np.load(parts / f"{s:07d}.npy") for s in range(0, count, CHUNK)]
    return np.concatenate(chunks)[:count]


def load(rows: int = 100_000) -> tuple[np.ndarray, list[str]]:
    """The cached vectors and their texts (built when missing)."""
    path = build(rows)
    items = json.loads(path.with_suffix(".json").read_text())
    return np.load(path), list(items)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    print(build(args.rows))
