"""GloVe's co-occurrence spills larger than memory: the merge maps them, never reads them whole.

The counting runs in a child process whose private memory (RLIMIT_DATA: heap and private
mappings, not file-backed shared maps) is capped a little above what it holds before the
count; the spill files it writes are several times larger than that headroom.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHILD = r"""
import resource, sys
from pathlib import Path
import numpy as np
from embedlab.text.encode import scan_corpus
from embedlab.text.vocabulary import Vocabulary
from embedlab.train._cooccur import count_cooccurrences

work, headroom = Path(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
corpus = work / "corpus.txt"
with corpus.open("w") as out:
    for _ in range(8_000):
        out.write(" ".join(f"w{i}" for i in rng.integers(0, 40_000, 50)) + "\n")

def count(source, folder, budget):
    folder.mkdir()
    scan = scan_corpus(source, ids_path=folder / "ids.i32")
    vocab, remap = Vocabulary.from_scan(scan, min_count=1)
    return scan, remap, len(vocab)

tiny = count(["a b c a b d"] * 50, work / "warm", 0)  # compiles the kernels first
count_cooccurrences(*tiny[:2], tiny[2], window=10, memory_bytes=2**20, workdir=work / "warm")
scan, remap, size = count(corpus, work / "big", 0)
data = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmData"))
_, hard = resource.getrlimit(resource.RLIMIT_DATA)
resource.setrlimit(resource.RLIMIT_DATA, (data + headroom, hard))
pairs = count_cooccurrences(
    scan, remap, size, window=10, memory_bytes=8 * 2**20, workdir=work / "big"
)
print(len(pairs), pairs.spills, float(pairs.values.sum()))
"""


@pytest.mark.slow
def test_merge_of_spills_larger_than_memory(tmp_path: Path) -> None:
    headroom = 32 * 2**20
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), str(headroom)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    unique, spills, total = done.stdout.split()
    # Every unique pair was at least one 16-byte spill record (few fit the 4 MB dense table).
    assert int(unique) * 16 > 3 * headroom and int(spills) > 10
    # 8,000 lines of 50 words, window 10: each word meets 10 before it (fewer at a line
    # start), both directions, weighted 1/d.
    per_line = sum(2 * sum(1 / d for d in range(1, min(p, 10) + 1)) for p in range(50))
    assert float(total) == pytest.approx(8_000 * per_line, rel=1e-4)
