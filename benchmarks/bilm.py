"""ELMo-style BiLM vs static Word2Vec (same corpus) vs MiniLM token vectors: word senses.

    python benchmarks/bilm.py --corpus /tmp/gcide.txt --every 8          # trains both, ~15 min
    python benchmarks/bilm.py --corpus /tmp/gcide.txt --every 8 --model /tmp/bilm-model

The corpus is the GCIDE corpus (/work/shared/scripts/make_gcide_corpus.sh), every
``--every``-th line of it (a subset spread over the whole alphabet). On it the script trains
(unless ``--model`` names a saved BiLM) embedlab's BiLM with its defaults on 1 thread, and
Word2Vec (skip-gram, dim 100, window 5, min_count 3, 5 epochs) on the same lines.

Two tests, each scored by nearest sense centroid (leave one out, cosine):

- **bank**: 8 river-side and 8 money sentences (written for this test); accuracy, and
  the mean cosine within a sense less the mean across the senses.
- **WordNet senses**: every example sentence of WordNet 3.0 (Debian ``wordnet-base``)
  that contains one of its synset's single-word lemmas (or the lemma + s/es/ed/d/ing).
  For a lemma with two or more senses that have examples, each example of a sense with
  two or more examples is held out in turn and assigned to the nearest centroid of that
  lemma's senses' other examples. An eighth of the lemmas (by a hash) is the dev split
  (choice of BiLM layer, Word2Vec context width); every other lemma is the test split
  (reported; until stop 12 only one other eighth was, too few items to separate two
  methods 0.02 apart); chance is the mean of 1/senses.

Representations: BiLM: the target token's vector (each layer, ELMo's fixed average, the
average of the contextual layers 1 and up), or the mean of the unit fixed-average vectors of
the tokens within ±1 or ±2 of the target (the target included);
Word2Vec: the target word's own vector (static: one vector for every sense, the
comparison the issue names), and the stronger baseline this benchmark holds the BiLM to, the
mean of the unit word vectors within +-k tokens of the target (the target itself excluded,
since it is the same for every sense); MiniLM: ``word_in_context`` (its last
layer, sub-tokens averaged). Everything runs on one torch thread.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

WORDNET = Path("/usr/share/wordnet")
SUFFIXES = ("", "s", "es", "ed", "d", "ing")

BANK = {
    "river": [
        "we sat on the bank of the river and watched the boats",
        "the children fished from the muddy bank all afternoon",
        "the flood washed away part of the bank near the mill",
        "reeds grew thick along the bank of the stream",
        "the canoe was pulled up onto the grassy bank",
        "otters dig their dens in the bank of a river",
        "he swam across and climbed out on the far bank",
        "the path follows the north bank of the creek",
    ],
    "money": [
        "she went to the bank to deposit her wages",
        "the bank refused to lend him more money",
        "he opened a savings account at the bank",
        "the bank charges interest on every loan",
        "robbers broke into the bank and took the cash",
        "the central bank raised its rates again",
        "i need to withdraw money from the bank today",
        "the bank sent a letter about the overdue mortgage",
    ],
}


@dataclass(frozen=True)
class Example:
    """One WordNet example sentence, the lemma it shows and the sense (synset) it has."""

    lemma: str
    sense: str
    text: str
    form: str


def wordnet_examples() -> list[Example]:
    """Every (lemma, synset, example) where the example contains the lemma or a simple form."""
    from embedlab.text.tokenize import tokenize

    if not (WORDNET / "data.noun").is_file():
        sys.exit("WordNet is missing: apt-get install -y wordnet-base")
    out = []
    for pos in ("noun", "verb", "adj", "adv"):
        for line in (WORDNET / f"data.{pos}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            n = int(fields[3], 16)
            lemmas = sorted({fields[4 + 2 * i].lower() for i in range(n)} - {""})
            for text in re.findall(r'"([^"]+)"', gloss):
                tokens = tokenize(text)
                for lemma in lemmas:
                    if "_" in lemma or not lemma.isalpha():
                        continue
                    forms = [t for t in tokens if t in {lemma + s for s in SUFFIXES}]
                    if forms:
                        out.append(Example(lemma, pos + fields[0], text, forms[0]))
    return out


def split_items(examples: list[Example]) -> dict[str, dict[str, dict[str, list[Example]]]]:
    """{split: {lemma: {sense: examples}}} for lemmas with 2+ senses that have examples."""
    by_lemma: dict[str, dict[str, list[Example]]] = defaultdict(lambda: defaultdict(list))
    for ex in examples:
        by_lemma[ex.lemma][ex.sense].append(ex)
    splits: dict[str, dict[str, dict[str, list[Example]]]] = {"dev": {}, "test": {}}
    for lemma, senses in by_lemma.items():
        if len(senses) < 2 or not any(len(e) >= 2 for e in senses.values()):
            continue
        bucket = int(hashlib.sha1(lemma.encode()).hexdigest(), 16) % 8  # 0: dev
        splits["dev" if bucket == 0 else "test"][lemma] = dict(senses)
    return splits


def centroid_accuracy(groups: list[np.ndarray]) -> tuple[int, int]:
    """(correct, tried): leave-one-out nearest centroid over groups of unit row vectors."""
    hits = centroid_hits(groups)
    return sum(hits), len(hits)


def centroid_hits(groups: list[np.ndarray]) -> list[bool]:
    """Per held-out row: did leave-one-out nearest centroid pick its own group?"""
    hits: list[bool] = []
    rng = np.random.default_rng(0)  # ties (identical vectors: a static word) drawn at random
    sums = [g.sum(axis=0) for g in groups]
    for s, group in enumerate(groups):
        if len(group) < 2:
            continue
        for row in group:
            scores = []
            for t, total in enumerate(sums):
                c = total - row if t == s else total
                norm = np.linalg.norm(c)
                scores.append(float(row @ c) / norm if norm > 0 else -np.inf)
            top = np.flatnonzero(np.isclose(scores, max(scores), rtol=0, atol=1e-6))
            hits.append(bool(rng.choice(top) == s))
    return hits


def unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1)


class Representations:
    """The vectors each method gives the target word of a sentence (cached per sentence)."""

    def __init__(self, bilm: Any, w2v: Any, minilm: Any) -> None:
        self.bilm, self.w2v, self.minilm = bilm, w2v, minilm
        self.cache: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        self.seconds: dict[str, float] = defaultdict(float)

    def of(self, text: str, form: str) -> dict[str, np.ndarray]:
        from embedlab.text.tokenize import tokenize

        key = (text, form)
        if key in self.cache:
            return self.cache[key]
        out: dict[str, np.ndarray] = {}
        t = time.perf_counter()
        tokens, layers = self.bilm.layer_vectors(text)
        at = tokens.index(form)
        for j in range(layers.shape[0]):
            out[f"bilm layer {j}"] = unit(layers[j, at])
        out["bilm average"] = unit(layers[:, at].mean(axis=0))
        out["bilm layers 1+"] = unit(layers[1:, at].mean(axis=0))
        mixed = unit(layers.mean(axis=0))  # every token's fixed-average vector
        for k in (1, 2):
            near = mixed[max(0, at - k) : at + k + 1]
            out[f"bilm average, tokens ±{k}"] = unit(near.mean(axis=0))
        self.seconds["bilm"] += time.perf_counter() - t
        words = tokenize(text)
        at = words.index(form)
        out["word2vec target (static)"] = (  # the same vector for every sense of a form
            unit(np.asarray(self.w2v[form])) if form in self.w2v else np.zeros(self.w2v.dim)
        )
        for k in (2, 5, 10, 1000):
            rows = [
                self.w2v[w]
                for i, w in enumerate(words)
                if i != at and abs(i - at) <= k and w in self.w2v
            ]
            name = f"word2vec context ±{k}" if k < 1000 else "word2vec context sentence"
            out[name] = (
                unit(np.mean(unit(np.asarray(rows)), axis=0))
                if rows
                else np.zeros(self.w2v.dim, np.float32)
            )
        if self.minilm is not None:
            t = time.perf_counter()
            out["minilm token"] = unit(self.minilm.word_in_context(text, form))
            self.seconds["minilm"] += time.perf_counter() - t
        self.cache[key] = out
        return out


def score(reps: Representations, lemmas: dict[str, dict[str, list[Example]]]) -> dict[str, Any]:
    """Accuracy of every representation over the lemmas, and chance."""
    hits: dict[str, list[bool]] = defaultdict(list)
    tried = 0
    chance = 0.0
    for senses in lemmas.values():
        groups = list(senses.values())
        vectors = [[reps.of(ex.text, ex.form) for ex in g] for g in groups]
        n = sum(len(g) for g in groups if len(g) >= 2)
        tried += n
        chance += n / len(groups)
        for name in vectors[0][0]:
            hits[name] += centroid_hits([np.stack([v[name] for v in g]) for g in vectors])
    return {
        "items": tried,
        "lemmas": len(lemmas),
        "chance": chance / max(tried, 1),
        "accuracy": {name: sum(h) / max(tried, 1) for name, h in hits.items()},
        "hits": dict(hits),
    }


def paired(a: list[bool], b: list[bool]) -> tuple[int, int, float]:
    """McNemar's exact test: (a right b wrong, a wrong b right, two-sided p)."""
    from scipy.stats import binomtest

    only_a = sum(x and not y for x, y in zip(a, b, strict=True))
    only_b = sum(y and not x for x, y in zip(a, b, strict=True))
    n = only_a + only_b
    return only_a, only_b, float(binomtest(only_a, n, 0.5).pvalue) if n else 1.0


def bank_test(reps: Representations) -> dict[str, dict[str, float]]:
    groups = [[reps.of(text, "bank") for text in BANK[s]] for s in ("river", "money")]
    out = {}
    for name in groups[0][0]:
        mats = [np.stack([v[name] for v in g]) for g in groups]
        c, tried = centroid_accuracy(mats)
        within = np.mean([(m @ m.T)[np.triu_indices(len(m), 1)].mean() for m in mats])
        across = float((mats[0] @ mats[1].T).mean())
        out[name] = {"accuracy": c / tried, "separation": float(within - across)}
    return out


def train_models(corpus: Path, every: int, workdir: Path, model: Path | None) -> dict[str, Any]:
    from embedlab.io import save_folder
    from embedlab.train import BiLM, Word2Vec

    lines = [line for i, line in enumerate(corpus.open(encoding="utf-8"), 1) if i % every == 0]
    subset = workdir / "corpus.txt"
    subset.write_text("".join(lines), encoding="utf-8")
    info: dict[str, Any] = {"corpus": str(corpus), "every": every, "lines": len(lines)}
    w2v = Word2Vec(sg=True, dim=100, window=5, min_count=3, epochs=5, threads=2)
    save_folder(w2v.train(subset), workdir / "w2v")
    info["word2vec"] = w2v.stats.to_dict() if w2v.stats else {}
    if model is None:
        trainer = BiLM()
        trainer.train(subset, progress=True).save(workdir / "bilm")
        info["bilm"] = trainer.stats.to_dict() if trainer.stats else {}
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "gcide.txt")
    parser.add_argument("--every", type=int, default=8, help="keep every n-th corpus line")
    parser.add_argument("--model", type=Path, help="a saved BiLM (skip its training)")
    parser.add_argument("--no-minilm", action="store_true", help="leave MiniLM out")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    if not args.corpus.is_file():
        sys.exit(
            f"{args.corpus} is missing: /work/shared/scripts/make_gcide_corpus.sh {args.corpus}"
        )
    import torch

    from embedlab import encoders
    from embedlab.encoders.bilm import BiLMEncoder

    torch.set_num_threads(1)  # both models on one thread (2 spin-wait on a busy machine)
    from embedlab.io import load_vectors

    with tempfile.TemporaryDirectory(prefix="bilm-bench-") as tmp:
        work = Path(tmp)
        info = train_models(args.corpus, args.every, work, args.model)
        bilm = BiLMEncoder.load(args.model or work / "bilm")
        w2v = load_vectors(work / "w2v")
        minilm = None if args.no_minilm else encoders.load("minilm")
        reps = Representations(bilm, w2v, minilm)
        splits = split_items(wordnet_examples())
        report: dict[str, Any] = {"training": info, "bank": bank_test(reps)}
        for split in ("dev", "test"):
            report[split] = score(reps, splits[split])
            print(
                f"{split}: {report[split]['lemmas']} lemmas, {report[split]['items']} items, "
                f"chance {report[split]['chance']:.3f}",
                flush=True,
            )
        report["encode_seconds"] = dict(reps.seconds)
        report["bilm_training"] = bilm.training.get("training", {})
    dev = report["dev"]["accuracy"]
    best_bilm = max((n for n in dev if n.startswith("bilm")), key=dev.__getitem__)
    best_w2v = max((n for n in dev if n.startswith("word2vec context")), key=dev.__getitem__)
    report["chosen_on_dev"] = {"bilm": best_bilm, "word2vec": best_w2v}
    print("\nbank test (leave-one-out nearest centroid; separation = within - across cosine)")
    for name, r in report["bank"].items():
        print(f"  {name:28s} accuracy {r['accuracy']:.3f}  separation {r['separation']:+.3f}")
    print(
        f"\nWordNet senses, nearest sense centroid (chance dev {report['dev']['chance']:.3f}, "
        f"test {report['test']['chance']:.3f})"
    )
    for name in dev:
        mark = " <- chosen on dev" if name in (best_bilm, best_w2v) else ""
        print(
            f"  {name:28s} dev {dev[name]:.3f}  test {report['test']['accuracy'][name]:.3f}{mark}"
        )
    test = report["test"]["accuracy"]
    print(
        f"\ntest: BiLM ({best_bilm}) {test[best_bilm]:.3f} vs Word2Vec ({best_w2v}) "
        f"{test[best_w2v]:.3f}: {test[best_bilm] - test[best_w2v]:+.3f}"
        + (f"; MiniLM {test['minilm token']:.3f}" if "minilm token" in test else "")
    )
    only_bilm, only_w2v, p = paired(
        report["test"]["hits"][best_bilm], report["test"]["hits"][best_w2v]
    )
    report["paired_test"] = {"only_bilm": only_bilm, "only_word2vec": only_w2v, "p": p}
    print(
        f"paired on test (McNemar exact): BiLM right & Word2Vec wrong {only_bilm}, "
        f"the reverse {only_w2v}, p = {p:.3f}"
    )
    static = "word2vec target (static)"
    only_bilm, only_static, p = paired(
        report["test"]["hits"][best_bilm], report["test"]["hits"][static]
    )
    report["paired_static"] = {"only_bilm": only_bilm, "only_static": only_static, "p": p}
    print(
        f"vs the static target vector ({test[static]:.3f}): BiLM right & static wrong "
        f"{only_bilm}, the reverse {only_static}, p = {p:.3g}"
    )
    stats = report["bilm_training"]
    if stats.get("seconds"):  # absent for a model rebuilt from a checkpoint
        print(
            f"BiLM training: {stats.get('tokens_trained', 0):,} tokens in "
            f"{stats.get('seconds', 0):.0f} s = {stats.get('tokens_per_second', 0):,.0f} tokens/s"
        )
    if args.out:
        args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
