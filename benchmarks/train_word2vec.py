"""embedlab Word2Vec against gensim's, side by side on the same corpus and settings.

    python benchmarks/train_word2vec.py                       # GCIDE corpus, sg 1 epoch + cbow 5
    python benchmarks/train_word2vec.py --corpus my.txt --modes cbow --repeat 3

Settings: dim 100, window 5, min_count 5, negative 5, sample 1e-3, 2 threads.
"""

from __future__ import annotations

from _trainer_bench import main

if __name__ == "__main__":
    main("Word2Vec", {"sg": {"sg": True, "epochs": 1}, "cbow": {"sg": False, "epochs": 5}}, __doc__)
