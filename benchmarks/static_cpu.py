"""Encode cost in CPU time (load-independent): minilm torch vs the distilled static encoder.

    python benchmarks/static.py           # first: distils and keeps the folders
    python benchmarks/static_cpu.py

minilm torch (2 threads, batch 32) encodes 64 debian-mixed documents, the static encoder
(one thread) all 1,000, cold (its remembered chunk tokens forgotten) and warm; each is
timed by the process's CPU time (user + system, all threads), so a busy machine does not
change the figures much. Prints texts per CPU-second and the ratio.
"""

from __future__ import annotations

import json
import os
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"

from _retrieval_data import CACHE


def main() -> None:
    """Time both encoders in CPU seconds and print the rates."""
    import torch

    from embedlab.encoders import TransformerEncoder
    from embedlab.encoders.distilled import DistilledEncoder

    torch.set_num_threads(2)
    data = json.loads((CACHE / "debian-mixed-1000-200-0.json").read_text())
    texts = [d["text"] for d in data["documents"]]
    static = DistilledEncoder.load(CACHE / "static-embedlab")
    minilm = TransformerEncoder("minilm")
    minilm.encode(texts[:8])
    static.encode(texts)
    sub = texts[:64]
    began = time.process_time()
    minilm.encode(sub, batch_size=32)
    minilm_rate = len(sub) / (time.process_time() - began)
    rates = {}
    for label in ("cold", "warm"):  # cold: the remembered chunk tokens forgotten first
        if label == "cold":
            static.clear_cache()
        began = time.process_time()
        static.encode(texts, normalize=True)
        rates[label] = len(texts) / (time.process_time() - began)
    print(
        f"minilm torch: {minilm_rate:.1f} texts per CPU-second; embedlab static: "
        + "; ".join(
            f"{label} {rate:,.0f} texts per CPU-second, ratio {rate / minilm_rate:.0f}x"
            for label, rate in rates.items()
        )
    )


if __name__ == "__main__":
    main()
