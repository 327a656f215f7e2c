"""A BiLM run stopped part-way (Ctrl-C, or a kill after a checkpoint): its model, and the
exact windows it trained on as a corpus, so Word2Vec can be trained on the same tokens.

    embedlab train bilm CORPUS -o OUT --checkpoint CKPT      # stopped with Ctrl-C
    python benchmarks/bilm_checkpoint.py CORPUS CKPT MODEL WINDOWS.txt
    python benchmarks/bilm.py --corpus WINDOWS.txt --every 1 --model MODEL

The corpus is scanned again exactly as the trainer scans it (same vocabulary, same token
ids); the checkpoint's weights go into the network; the windows of the epochs and steps the
checkpoint had done (the trainer's order: a permutation seeded by (seed, epoch)) are written
one per line, split at line boundaries, so a Word2Vec trained on WINDOWS.txt sees the tokens
the BiLM saw (each window once per visit).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    """Rebuild the model from the checkpoint and write the trained windows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("model", type=Path)
    parser.add_argument("windows", type=Path)
    args = parser.parse_args()

    from safetensors.torch import load_file

    from embedlab.encoders._bilm_net import BOUNDARY, BiLMNet
    from embedlab.encoders.bilm import BiLMEncoder
    from embedlab.text.corpus import Corpus
    from embedlab.text.encode import scan_corpus
    from embedlab.text.vocabulary import Vocabulary
    from embedlab.train.bilm import BiLMParams

    meta = json.loads((args.checkpoint / "checkpoint.json").read_text(encoding="utf-8"))
    p = BiLMParams(**meta["params"])
    state = meta["state"]
    with tempfile.TemporaryDirectory() as tmp:
        scan = scan_corpus(Corpus(args.corpus), ids_path=Path(tmp) / "ids.i32")
        vocab, _ = Vocabulary.from_scan(scan, min_count=p.min_count, max_size=p.vocab_size)
        ids = np.fromfile(scan.ids_path or "", dtype=np.int32)
    out_words = ["<unk>", BOUNDARY, *vocab.keys]
    cfg = p.net_config(len(out_words))
    net = BiLMNet(cfg)
    tensors = load_file(str(args.checkpoint / "checkpoint.safetensors"))
    net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
    net.eval()
    training = {
        "params": meta["params"],
        "corpus": {"words": scan.words, "lines": scan.lines, "description": str(args.corpus)},
        "training": {
            "tokens_trained": state["tokens"],
            "steps": state["steps"],
            "stopped_part_way": True,
        },
    }
    BiLMEncoder(net, out_words, counts=[0, 0, *vocab.counts.tolist()], training=training).save(
        args.model
    )
    n_windows = len(ids) // p.window
    offsets = np.arange(p.window)
    lines = 0
    tokens = 0
    keys = scan.raw_keys
    with args.windows.open("w", encoding="utf-8") as out:
        for epoch in range(state["epoch"] + 1):
            order = np.random.default_rng([p.seed, epoch]).permutation(n_windows)
            done = state["step"] if epoch == state["epoch"] else -(-n_windows // p.batch_size)
            for window in order[: done * p.batch_size]:
                raw = ids[window * p.window + offsets]
                tokens += len(raw)
                words = [keys[i] if i >= 0 else "\n" for i in raw]
                text = " ".join(words).replace(" \n ", "\n").strip(" ")
                out.write(text.replace("\n \n", "\n") + "\n")
                lines += 1
    print(
        f"model: {args.model} (step {state['step']} of epoch {state['epoch'] + 1}, "
        f"{state['tokens']:,} tokens trained); windows: {args.windows} ({lines:,} windows, "
        f"{tokens:,} tokens incl. line boundaries)"
    )


if __name__ == "__main__":
    main()
