"""embedlab FastText against gensim's, side by side on the same corpus and settings.

    python benchmarks/train_fasttext.py                       # GCIDE corpus, CBOW 5 epochs
    python benchmarks/train_fasttext.py --corpus my.txt --repeat 3

Settings: dim 100, window 5, min_count 5, negative 5, sample 1e-3, n-grams 3-6 hashed
into 2,000,000 buckets (both libraries' defaults), 2 threads.
"""

from __future__ import annotations

from _trainer_bench import main

if __name__ == "__main__":
    # Memory target: no more than gensim's own peak.
    main(
        "FastText",
        {"cbow": {"sg": False, "epochs": 5}},
        __doc__,
        memory_budget=lambda row: row["gensim_peak_mb"],
    )
