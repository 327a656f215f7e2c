"""WEAT on the GCIDE Word2Vec, embedlab against WEFE run side by side in its own venv.

    python benchmarks/weat.py --wefe-python /tmp/wefe-venv/bin/python
    python benchmarks/weat.py --model my-model --permutations 100000

WEFE 1.0.1 pins numpy<2, so it lives in a separate virtual environment
(``python -m venv /tmp/wefe-venv && /tmp/wefe-venv/bin/pip install wefe``); this script
sends it the vectors of exactly the words embedlab used for each test (JSON on stdin)
and compares the WEAT statistic and the effect size. WEFE's effect size uses the
population standard deviation (``np.std``, ddof=0), embedlab's default is the sample
one (ddof=1, as Caliskan et al.'s Cohen's d and May et al.'s code), so the comparison
is made at ddof=0 and the table shows both. WEFE's p-value is not compared: 1.0.1 has
no exact method and its "approximate" one draws words with replacement, unseeded.

When ``--model`` (default /tmp/gcide-word2vec) does not exist, it is trained with
embedlab's Word2Vec defaults (CBOW, dim 100, window 5, min_count 5, 5 epochs, seed 1) on
one thread, so bit for bit reproducible, on the GCIDE corpus
(``../shared/scripts/make_gcide_corpus.sh /tmp/gcide.txt``), and saved there.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from embedlab.bias import WeatResult, weat, weat_tests
from embedlab.errors import MissingWordsError
from embedlab.io import load_vectors, save_vectors
from embedlab.vectors import WordVectors

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
DEFAULT_CORPUS = Path(tempfile.gettempdir()) / "gcide.txt"
DEFAULT_MODEL = Path(tempfile.gettempdir()) / "gcide-word2vec"

_WEFE_CHILD = r"""
import json, sys
import numpy as np
from gensim.models import KeyedVectors
from wefe.metrics import WEAT
from wefe.query import Query
from wefe.word_embedding_model import WordEmbeddingModel

out = []
for item in json.load(sys.stdin):
    words = [w for s in item["sets"] for w in s]
    kv = KeyedVectors(vector_size=len(item["vectors"][words[0]]))
    keys = list(dict.fromkeys(words))
    kv.add_vectors(keys, np.array([item["vectors"][k] for k in keys], dtype=np.float32))
    model = WordEmbeddingModel(kv, "gcide")
    query = Query(item["sets"][:2], item["sets"][2:], item["names"][:2], item["names"][2:])
    r = WEAT().run_query(query, model, return_effect_size=True, lost_vocabulary_threshold=0.0)
    out.append({"test": item["test"], "weat": float(r["weat"]),
                "effect_size": float(r["effect_size"])})
json.dump(out, sys.stdout)
"""


def ensure_model(model: Path, corpus: Path) -> WordVectors:
    """Load the model, or train it (embedlab Word2Vec defaults) on the GCIDE corpus."""
    if model.exists():
        return load_vectors(model)
    if not corpus.exists():
        script = SHARED / "scripts" / "make_gcide_corpus.sh"
        if corpus != DEFAULT_CORPUS or not script.exists():
            raise SystemExit(f"corpus not found: {corpus}")
        subprocess.run(["bash", str(script), str(corpus)], check=True)
    from embedlab.train import Word2Vec

    start = time.perf_counter()
    wv = Word2Vec(threads=1).train(str(corpus))  # the defaults; one thread: reproducible
    print(f"trained {len(wv):,} words in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    save_vectors(wv, model)
    return wv


def wefe_side(python: str, wv: WordVectors, results: list[WeatResult]) -> dict[str, Any]:
    """WEFE's statistic and effect size for the same words, from the other venv."""
    payload = []
    for r in results:
        sets = [list(r.used[name]) for name in (*r.targets, *r.attributes)]
        words = {w for s in sets for w in s}
        payload.append(
            {
                "test": r.test,
                "sets": sets,
                "names": [*r.targets, *r.attributes],
                "vectors": {w: wv[w].tolist() for w in words},
            }
        )
    proc = subprocess.run(
        [python, "-c", _WEFE_CHILD],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
    )
    return {row["test"]: row for row in json.loads(proc.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--wefe-python", help="python of a venv with wefe installed")
    parser.add_argument("--permutations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    wv = ensure_model(args.model, args.corpus)
    results: list[WeatResult] = []
    population: dict[str, float] = {}
    skipped: list[str] = []
    for test in weat_tests().values():
        try:
            r = weat(wv, test, permutations=args.permutations, seed=args.seed)
        except MissingWordsError as exc:
            skipped.append(f"{test.name}: {exc}")
            continue
        results.append(r)
        population[test.name] = weat(wv, test, ddof=0, max_exact=0, permutations=1).effect_size
    wefe = wefe_side(args.wefe_python, wv, results) if args.wefe_python else {}
    print(f"model: {args.model} ({len(wv):,} words x {wv.dim})\n")
    head = "| test | targets | attributes | words used (missing) | s | d (ddof=1) | p | p method |"
    if wefe:
        head += " d (ddof=0) | WEFE s | WEFE d (ddof=0) | max abs diff |"
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    worst = 0.0
    for r in results:
        used = sum(len(v) for v in r.used.values())
        missing = sum(len(v) for v in r.missing.values())
        row = (
            f"| {r.test} | {' vs '.join(r.targets)} | {' vs '.join(r.attributes)} | "
            f"{used} ({missing}) | {r.statistic:.4f} | {r.effect_size:+.3f} | "
            f"{r.p_value:.4g} | {r.scores.p_method} |"
        )
        if wefe:
            other = wefe[r.test]
            diff = max(
                abs(other["weat"] - r.statistic),
                abs(other["effect_size"] - population[r.test]),
            )
            worst = max(worst, diff)
            row += (
                f" {population[r.test]:+.6f} | {other['weat']:.6f} | "
                f"{other['effect_size']:+.6f} | {diff:.1e} |"
            )
        print(row)
    for line in skipped:
        print(f"\nskipped {line}")
    if wefe:
        print(f"\nlargest difference from WEFE (statistic, effect size at ddof=0): {worst:.2e}")


if __name__ == "__main__":
    main()
