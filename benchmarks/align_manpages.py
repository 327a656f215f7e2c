"""Aligning two spaces on real bilingual data: English and French manual pages, FreeDict.

    python benchmarks/align_manpages.py                  # build, train, align, report
    python benchmarks/align_manpages.py --dim 100 --epochs 5 --json

Everything is built here from Debian packages (bookworm main), nothing is committed:

    apt-get update                                       # once, if the lists are missing
    apt-get download manpages manpages-dev manpages-fr manpages-fr-dev \\
        dict-freedict-eng-fra dict-freedict-fra-eng      # (the script runs this itself)
    dpkg-deb -x PACKAGE.deb ROOT                         # each of them (the script too)

No package is installed: ``apt-get download`` fetches the .deb files into the work folder
(``--work``, default /tmp/embedlab-align-bench) and ``dpkg-deb -x`` unpacks them there.
CI does not run this benchmark.

Corpora: the English pages (manpages, manpages-dev: sections 1-8 of the Linux man-pages
project) and the French ones (manpages-fr, manpages-fr-dev: translations of those and of
many other packages' pages; comparable, not parallel). The groff source is stripped of
requests and escapes (the text arguments of font and heading macros kept), one paragraph
a line, lower-cased, words of letters only (``l'option`` -> ``l option``). Each side gets
its own FastText (embedlab's trainer, skip-gram, same settings and seed).

Dictionary: FreeDict English-French and French-English (dictd format: the .index names
each headword's offset and length in base 64, the .dict.dz is gzip-readable); each
headword's first sense, single-word translations only, both directions merged into
English -> French pairs. Pairs whose two words are both in the two vocabularies are split
by English word (seed 0) into seed pairs (the rest), dev and test pairs (``--dev`` and
``--test`` English words each); an English word's pairs all fall in one part, and a
translation counts as right if it is any of the word's French words.

Reported: precision@1 and @5 of the identity map (the spaces as trained), of "same
spelling" (the French word spelt as the English one, when the French vocabulary has it: no
vectors at all; @5 equals @1), of orthogonal Procrustes from the seed pairs, and of
Procrustes with the mutual-nearest-neighbour refinement (iterations and ``refine_top``
tuned on dev; test reported); and both again with the seed dictionary enlarged by every
word spelt the same in the two vocabularies (dev and test English words left out).
The trained vectors are saved in the work folder and reused by a rerun with the same
``--dim``, ``--epochs`` and ``--min-count``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PACKAGES = {
    "en": ["manpages", "manpages-dev"],
    "fr": ["manpages-fr", "manpages-fr-dev"],
    "dict": ["dict-freedict-eng-fra", "dict-freedict-fra-eng"],
}
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TEXT_MACROS = {"B", "I", "BR", "RB", "IR", "RI", "BI", "IB", "SM", "SB", "SH", "SS", "TP"}
_ESCAPES = re.compile(
    r"\\f(?:\[[^\]]*\]|\(..|.)"  # font changes
    r"|\\\*(?:\[[^\]]*\]|\(..|.)"  # strings
    r"|\\\((..)"  # special characters \(xx
    r"|\\\[[^\]]*\]"  # special characters \[name]
    r"|\\s[+-]?\d+"  # size changes
    r"|\\[&c%|^:]"  # zero-width
    r"|\\."  # anything else escaped: \- \e \  ...
)
_WORD = re.compile(r"[^\W\d_]+")


def unpack(work: Path) -> Path:
    """Download (apt-get download) and unpack (dpkg-deb -x) the packages under work/root."""
    root = work / "root"
    debs = work / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    names = [name for group in PACKAGES.values() for name in group]
    missing = [n for n in names if not list(debs.glob(f"{n}_*.deb"))]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True)
    if not (root / "usr/share/dictd").is_dir():
        for deb in sorted(debs.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def _escape(match: re.Match[str]) -> str:
    """A groff escape's stand-in: a space for special characters, hyphens and spaces."""
    if match.group(1) or match.group(0) in ("\\-", "\\ ", "\\~", "\\0"):
        return " "
    return ""


def groff_paragraphs(source: str) -> list[str]:
    """The running text of a groff man page, one paragraph a string."""
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    for line in source.splitlines():
        if line.startswith(('.\\"', "'\\\"", '\\"')):
            continue
        if line.startswith((".", "'")):
            match = re.match(r"[.'] *([A-Za-z]+)\s*(.*)", line)
            if match is None:
                continue
            request, argument = match.groups()
            if request in ("SH", "SS", "PP", "P", "LP", "TP", "IP", "sp", "br", "HP"):
                flush()
            if request not in _TEXT_MACROS:
                continue
            line = argument.replace('"', " ")
        text = _ESCAPES.sub(_escape, line).strip()
        if text:
            current.append(text)
        else:
            flush()
    flush()
    return paragraphs


def build_corpus(root: Path, language: str, out: Path) -> dict[str, int]:
    """Write one lower-cased paragraph of words a line; return page/line/word counts."""
    base = root / "usr/share/man" / ("fr" if language == "fr" else "")
    pages = sorted(p for p in base.glob("man[1-8]/*.gz") if not p.is_symlink())
    lines = words = used = 0
    with out.open("w", encoding="utf-8") as sink:
        for page in pages:
            source = gzip.decompress(page.read_bytes()).decode("utf-8", errors="replace")
            if source.lstrip().startswith(".so "):
                continue  # a link to another page
            used += 1
            for paragraph in groff_paragraphs(source):
                tokens = _WORD.findall(paragraph.lower())
                if len(tokens) > 1:
                    sink.write(" ".join(tokens) + "\n")
                    lines += 1
                    words += len(tokens)
    return {"pages": used, "lines": lines, "words": words}


def _b64(text: str) -> int:
    value = 0
    for ch in text:
        value = value * 64 + _B64.index(ch)
    return value


def dictd_entries(index: Path) -> dict[str, list[str]]:
    """Headword -> single-word translations of its first sense, from a dictd dictionary."""
    data = gzip.decompress(index.with_suffix(".dict.dz").read_bytes())
    entries: dict[str, list[str]] = {}
    for row in index.read_text(encoding="utf-8").splitlines():
        head, offset, length = row.split("\t")
        if head.startswith("00database") or " " in head.strip():
            continue
        body = data[_b64(offset) : _b64(offset) + _b64(length)].decode("utf-8").splitlines()
        senses = [s for s in body[1:] if s.strip()]
        if not senses:
            continue
        first = re.sub(r"^\s*\d+\.\s*", "", senses[0])
        words = [w.strip().lower() for w in first.split(",")]
        words = [w for w in words if _WORD.fullmatch(w)]
        if words:
            entries.setdefault(head.strip().lower(), []).extend(words)
    return entries


def dictionary_pairs(root: Path) -> set[tuple[str, str]]:
    """English -> French pairs from both FreeDict directions."""
    folder = root / "usr/share/dictd"
    pairs = set()
    for en, frs in dictd_entries(folder / "freedict-eng-fra.index").items():
        pairs |= {(en, fr) for fr in frs}
    for fr, ens in dictd_entries(folder / "freedict-fra-eng.index").items():
        pairs |= {(en, fr) for en in ens}
    return {(en, fr) for en, fr in pairs if _WORD.fullmatch(en) and _WORD.fullmatch(fr)}


def split_pairs(
    pairs: list[tuple[str, str]], n_dev: int, n_test: int, seed: int = 0
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """(seed, dev, test) pairs, split by English word."""
    words = sorted({en for en, _ in pairs})
    random.Random(seed).shuffle(words)
    dev_words, test_words = set(words[:n_dev]), set(words[n_dev : n_dev + n_test])
    seed_pairs = [p for p in pairs if p[0] not in dev_words and p[0] not in test_words]
    return (
        seed_pairs,
        [p for p in pairs if p[0] in dev_words],
        [p for p in pairs if p[0] in test_words],
    )


def same_spelling(pairs: list[tuple[str, str]], french: Any) -> float:
    """Share of English words whose French translation is the word itself (if in vocab)."""
    gold: dict[str, set[str]] = {}
    for en, fr in pairs:
        gold.setdefault(en, set()).add(fr)
    return sum(en in french and en in frs for en, frs in gold.items()) / len(gold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/embedlab-align-bench"))
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--min-count", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dev", type=int, default=300, help="English words in dev")
    parser.add_argument("--test", type=int, default=500, help="English words in test")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import numpy as np

    from embedlab.analysis.align import Alignment, align
    from embedlab.train import FastText
    from embedlab.vectors import WordVectors

    report: dict[str, Any] = {"load_average_before": os.getloadavg()}
    root = unpack(args.work)
    spaces = {}
    for language in ("en", "fr"):
        corpus = args.work / f"corpus.{language}.txt"
        report[f"corpus_{language}"] = build_corpus(root, language, corpus)
        # Trained vectors are kept in the work folder (reused by a rerun, same settings).
        saved = args.work / f"fasttext.{language}.d{args.dim}.e{args.epochs}.m{args.min_count}"
        start = time.perf_counter()
        if saved.is_dir():
            spaces[language] = WordVectors.load(saved)
        else:
            model = FastText(
                sg=True, dim=args.dim, epochs=args.epochs, min_count=args.min_count,
                threads=args.threads, seed=1,
            ).train(str(corpus))  # fmt: skip
            spaces[language] = WordVectors(model.keys, model.vectors, counts=model.counts)
            spaces[language].save(saved)
            report[f"train_{language}_s"] = round(time.perf_counter() - start, 1)
        report[f"vocab_{language}"] = len(spaces[language])
        print(f"{language}: {report[f'corpus_{language}']}, vocabulary "
              f"{len(spaces[language]):,}, {report.get(f'train_{language}_s', 'loaded')} s",
              file=sys.stderr)  # fmt: skip
    en, fr = spaces["en"], spaces["fr"]
    every = dictionary_pairs(root)
    usable = sorted((a, b) for a, b in every if a in en and b in fr)
    seed_pairs, dev, test = split_pairs(usable, args.dev, args.test)
    report["pairs"] = {"dictionary": len(every), "in_both_vocabularies": len(usable),
                       "seed": len(seed_pairs), "dev": len(dev), "test": len(test),
                       "dev_words": len({a for a, _ in dev}),
                       "test_words": len({a for a, _ in test})}  # fmt: skip
    # Keys are the vocabulary words (their composed vectors): candidates are the French
    # vocabulary, unseen words' n-gram vectors are not used.
    results: dict[str, dict[str, float]] = {}
    identity = Alignment(en, fr, np.eye(args.dim, dtype=np.float32), ())
    results["identity"] = {
        "p1": identity.precision_at(test, 1),
        "p5": identity.precision_at(test, 5),
    }
    results["same_spelling"] = {"p1": same_spelling(test, fr)}
    results["same_spelling"]["p5"] = results["same_spelling"]["p1"]
    start = time.perf_counter()
    plain = align(en, fr, seed_pairs)
    results["procrustes"] = {"p1": plain.precision_at(test, 1), "p5": plain.precision_at(test, 5),
                             "dev_p1": plain.precision_at(dev, 1),
                             "seconds": round(time.perf_counter() - start, 2)}  # fmt: skip
    # The seed dictionary plus every word spelt the same in both vocabularies (not a dev
    # or test English word): the identical-strings seed of Smith et al. (2017).
    held = {a for a, _ in dev} | {a for a, _ in test}
    identical = [(w, w) for w in en.keys if w in fr and w not in held]
    with_identical = list(dict.fromkeys(seed_pairs + identical))
    report["pairs"]["identical_added"] = len(with_identical) - len(seed_pairs)
    both = align(en, fr, with_identical)
    results["procrustes_identical"] = {"p1": both.precision_at(test, 1),
                                       "p5": both.precision_at(test, 5),
                                       "dev_p1": both.precision_at(dev, 1)}  # fmt: skip
    tuning = []
    for iterations in (1, 3, 5):
        for top in (5_000, 10_000, 20_000):
            refined = align(en, fr, seed_pairs, iterations=iterations, refine_top=top)
            tuning.append((refined.precision_at(dev, 1), iterations, top))
    dev_p1, iterations, top = max(tuning, key=lambda t: (t[0], -t[1], -t[2]))
    start = time.perf_counter()
    refined = align(en, fr, seed_pairs, iterations=iterations, refine_top=top)
    results["refined"] = {"p1": refined.precision_at(test, 1), "p5": refined.precision_at(test, 5),
                          "dev_p1": dev_p1, "iterations": iterations, "refine_top": top,
                          "seconds": round(time.perf_counter() - start, 2)}  # fmt: skip
    tuning2 = []
    for iterations in (1, 3, 5):
        for top in (5_000, 10_000):
            refined2 = align(en, fr, with_identical, iterations=iterations, refine_top=top)
            tuning2.append((refined2.precision_at(dev, 1), iterations, top))
    dev_p1, iterations, top = max(tuning2, key=lambda t: (t[0], -t[1], -t[2]))
    refined2 = align(en, fr, with_identical, iterations=iterations, refine_top=top)
    results["refined_identical"] = {"p1": refined2.precision_at(test, 1),
                                    "p5": refined2.precision_at(test, 5), "dev_p1": dev_p1,
                                    "iterations": iterations, "refine_top": top}  # fmt: skip
    report["dev_tuning"] = [{"dev_p1": round(a, 4), "iterations": b, "refine_top": c}
                            for a, b, c in tuning]  # fmt: skip
    report["results"] = {k: {m: round(v, 4) for m, v in r.items()} for k, r in results.items()}
    report["load_average_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(report))
        return
    print(f"pairs: {report['pairs']}")
    for name, r in report["results"].items():
        extra = {k: v for k, v in r.items() if k not in ("p1", "p5")}
        print(f"{name:14} P@1 {r['p1']:.4f}  P@5 {r['p5']:.4f}  {extra or ''}")
    print(f"load average before {report['load_average_before']}, after "
          f"{report['load_average_after']}")  # fmt: skip


if __name__ == "__main__":
    main()
