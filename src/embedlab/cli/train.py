"""`embedlab train …`: train static word vectors on a corpus."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from embedlab.cli._common import JsonOption, command, console, emit_json
from embedlab.cli.app import app
from embedlab.text.corpus import Corpus

if TYPE_CHECKING:
    from embedlab.train._sgns import NegativeSamplingTrainer

train_app = typer.Typer(help="Train word vectors on your own corpus.", no_args_is_help=True)
app.add_typer(train_app, name="train")


CorpusArgument = typer.Argument(..., help="A text file (.gz too), a directory or a glob.")
OutputOption = typer.Option(..., "-o", "--output", help="Folder to write the model to.")
DimOption = typer.Option(100, "--dim", help="Vector dimensions.")
WindowOption = typer.Option(5, "--window", help="Largest distance to a context word.")
MinCountOption = typer.Option(5, "--min-count", help="Ignore words seen fewer times.")
NegativeOption = typer.Option(5, "--negative", help="Negative samples per target.")
SampleOption = typer.Option(1e-3, "--sample", help="Subsampling threshold (0: off).")
EpochsOption = typer.Option(5, "--epochs", help="Passes over the corpus.")
SgOption = typer.Option(False, "--sg/--cbow", help="Skip-gram or CBOW (the default).")
AlphaOption = typer.Option(0.025, "--alpha", help="Initial learning rate.")
ThreadsOption = typer.Option(0, "--threads", help="Worker threads (0: every core).")
SeedOption = typer.Option(1, "--seed", help="Random seed.")
EncodingOption = typer.Option(
    "utf-8", "--encoding", help="The corpus files' text encoding (latin-1, cp1252, ...)."
)


@train_app.command("word2vec")
@command
def word2vec(
    corpus: str = CorpusArgument,
    output: Path = OutputOption,
    dim: int = DimOption,
    window: int = WindowOption,
    min_count: int = MinCountOption,
    negative: int = NegativeOption,
    sample: float = SampleOption,
    epochs: int = EpochsOption,
    sg: bool = SgOption,
    alpha: float = AlphaOption,
    threads: int = ThreadsOption,
    seed: int = SeedOption,
    encoding: str = EncodingOption,
    json_output: bool = JsonOption,
) -> None:
    """Train Word2Vec (skip-gram or CBOW, negative sampling) and save it as a model folder."""
    params = dict(locals())
    from embedlab.train import Word2Vec

    _train_and_save(Word2Vec, params)


@train_app.command("fasttext")
@command
def fasttext(
    corpus: str = CorpusArgument,
    output: Path = OutputOption,
    dim: int = DimOption,
    window: int = WindowOption,
    min_count: int = MinCountOption,
    negative: int = NegativeOption,
    sample: float = SampleOption,
    epochs: int = EpochsOption,
    sg: bool = SgOption,
    alpha: float = AlphaOption,
    threads: int = ThreadsOption,
    seed: int = SeedOption,
    min_n: int = typer.Option(3, "--min-n", help="Shortest character n-gram."),
    max_n: int = typer.Option(6, "--max-n", help="Longest character n-gram."),
    buckets: int = typer.Option(2_000_000, "--buckets", help="Hash buckets for n-grams."),
    encoding: str = EncodingOption,
    json_output: bool = JsonOption,
) -> None:
    """Train FastText (words + character n-grams) and save it as a model folder.

    Words never seen in training still get vectors, composed from their n-grams.
    """
    params = dict(locals())
    from embedlab.train import FastText

    _train_and_save(FastText, params)


def _train_and_save(
    trainer: type[NegativeSamplingTrainer[Any, Any]], params: dict[str, Any]
) -> None:
    """Train with the command's parameters, save the folder, print the summary or JSON."""
    from embedlab.io import check_folder_path, save_folder

    corpus, output = params.pop("corpus"), params.pop("output")
    json_output = params.pop("json_output")
    text = Corpus(corpus, encoding=params.pop("encoding"))
    check_folder_path(output)  # before hours of training, not after
    model = trainer(**params)
    wv = model.train(text, progress=not json_output)
    save_folder(wv, output)
    stats = model.stats
    if stats is None:  # train() always sets it; keeps the type checker honest
        raise RuntimeError("training finished without statistics")
    if json_output:
        architecture = "skipgram" if params["sg"] else "cbow"
        emit_json({"model": str(output), "architecture": architecture, **stats.to_dict()})
        return
    console.print(
        f"[green]saved[/] {stats.vocab_size:,} words x {wv.dim} dims to [bold]{output}[/] · "
        f"{stats.corpus_words:,} corpus words x {stats.epochs} epochs in {stats.seconds:.1f} s "
        f"({stats.words_per_second:,.0f} words/s) · final loss {stats.losses[-1]:.4f}"
    )


@train_app.command("glove")
@command
def glove(
    corpus: str = typer.Argument(..., help="A text file (.gz too), a directory or a glob."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder to write the model to."),
    dim: int = typer.Option(100, "--dim", help="Vector dimensions."),
    window: int = typer.Option(10, "--window", help="Largest distance to a context word."),
    min_count: int = typer.Option(5, "--min-count", help="Ignore words seen fewer times."),
    epochs: int = typer.Option(15, "--epochs", help="Passes over the co-occurrence pairs."),
    x_max: float = typer.Option(100.0, "--x-max", help="Count at which a pair's weight is 1."),
    alpha: float = typer.Option(0.75, "--alpha", help="Exponent of the weighting function."),
    threads: int = typer.Option(0, "--threads", help="Worker threads (0: every core)."),
    memory_gb: float = typer.Option(4.0, "--memory-gb", help="Memory budget for counting."),
    seed: int = typer.Option(1, "--seed", help="Random seed."),
    encoding: str = EncodingOption,
    json_output: bool = JsonOption,
) -> None:
    """Train GloVe (co-occurrence counts, AdaGrad) and save it as a model folder."""
    from embedlab.io import check_folder_path, save_folder
    from embedlab.train import GloVe

    text = Corpus(corpus, encoding=encoding)
    check_folder_path(output)  # before hours of training, not after
    model = GloVe(
        dim=dim,
        window=window,
        min_count=min_count,
        epochs=epochs,
        x_max=x_max,
        alpha=alpha,
        threads=threads,
        memory_gb=memory_gb,
        seed=seed,
    )
    wv = model.train(text, progress=not json_output)
    save_folder(wv, output)
    stats = model.stats
    if stats is None:  # train() always sets it; keeps the type checker honest
        raise RuntimeError("training finished without statistics")
    if json_output:
        emit_json({"model": str(output), "kind": "glove", **stats.to_dict()})
        return
    console.print(
        f"[green]saved[/] {stats.vocab_size:,} words x {dim} dims to [bold]{output}[/] · "
        f"{stats.pairs:,} pairs x {stats.epochs} epochs in {stats.seconds:.1f} s "
        f"({stats.pairs_per_second:,.0f} pairs/s) · final cost {stats.costs[-1]:.4f}"
    )


@train_app.command("node2vec")
@command
def node2vec(
    edges: Path = typer.Argument(..., help="Edge list: 'source target [weight]' a line."),
    output: Path = OutputOption,
    dim: int = typer.Option(128, "--dim", help="Vector dimensions."),
    walk_length: int = typer.Option(80, "--walk-length", help="Nodes per walk."),
    walks_per_node: int = typer.Option(10, "--walks-per-node", help="Walks from each node."),
    window: int = typer.Option(10, "--window", help="Largest distance to a context node."),
    p: float = typer.Option(1.0, "--p", help="Return parameter (1 and q=1: DeepWalk)."),
    q: float = typer.Option(1.0, "--q", help="In-out parameter (<1: outward, DFS-like)."),
    negative: int = NegativeOption,
    epochs: int = typer.Option(1, "--epochs", help="Passes of walks (new walks each)."),
    directed: bool = typer.Option(False, "--directed", help="Edges point one way."),
    holdout: float = typer.Option(
        0.0, "--holdout", help="Hold out this fraction of edges and report link-prediction AUC."
    ),
    threads: int = ThreadsOption,
    seed: int = SeedOption,
    json_output: bool = JsonOption,
) -> None:
    """Train node embeddings (DeepWalk, or node2vec with p and q) from an edge list.

    Self-loops are dropped and repeated edges merged (keeping the largest weight), with
    a warning; a malformed line or weight stops with its file and line.
    """
    from embedlab.eval.link_prediction import link_prediction_auc, split_edges
    from embedlab.io import check_folder_path, save_folder
    from embedlab.train import Node2Vec, read_edge_list

    check_folder_path(output)
    graph = read_edge_list(edges, directed=directed)
    split = split_edges(graph, test_fraction=holdout, seed=seed) if holdout > 0 else None
    model = Node2Vec(
        dim=dim, walk_length=walk_length, walks_per_node=walks_per_node, window=window,
        p=p, q=q, negative=negative, epochs=epochs, threads=threads, seed=seed,
    )  # fmt: skip
    wv = model.train(split.train if split else graph, progress=not json_output)
    save_folder(wv, output)
    stats = model.stats
    if stats is None:  # train() always sets it; keeps the type checker honest
        raise RuntimeError("training finished without statistics")
    auc = link_prediction_auc(wv, split.positives, split.negatives) if split else None
    if json_output:
        emit_json({"model": str(output), **stats.to_dict(), "link_prediction_auc": auc})
        return
    line = (
        f"[green]saved[/] {stats.nodes:,} nodes x {dim} dims to [bold]{output}[/] · "
        f"{stats.edges:,} edges, {stats.steps:,} walk steps in {stats.seconds:.1f} s "
        f"({stats.steps_per_second:,.0f} steps/s)"
    )
    if split is not None and auc is not None:
        line += f" · link prediction AUC {auc:.4f} on {len(split.positives):,} held-out edges"
    console.print(line)


@train_app.command("bilm")
@command
def bilm(
    corpus: str = CorpusArgument,
    output: Path = OutputOption,
    dim: int = typer.Option(128, "--dim", help="Token vector size (contextual: 2 x dim)."),
    hidden: int = typer.Option(256, "--hidden", help="LSTM units per layer and direction."),
    layers: int = typer.Option(2, "--layers", help="LSTM layers per direction."),
    vocab_size: int = typer.Option(10_000, "--vocab-size", help="Words the LMs predict."),
    min_count: int = typer.Option(3, "--min-count", help="Predict only words seen this often."),
    window: int = typer.Option(32, "--window", help="Tokens per training sequence."),
    batch_size: int = typer.Option(32, "--batch-size", help="Sequences per step."),
    epochs: int = typer.Option(1, "--epochs", help="Passes over the corpus."),
    lr: float = typer.Option(2e-3, "--lr", help="Adam's learning rate."),
    threads: int = typer.Option(1, "--threads", help="torch threads (0: every core)."),
    seed: int = SeedOption,
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="Checkpoint folder (default: OUTPUT.checkpoint)."
    ),
    checkpoint_every: float = typer.Option(
        300.0, "--checkpoint-every", help="Seconds between checkpoints."
    ),
    resume: bool = typer.Option(False, "--resume", help="Carry on from the checkpoint."),
    encoding: str = EncodingOption,
    json_output: bool = JsonOption,
) -> None:
    """Train an ELMo-style BiLM (char-CNN inputs, forward and backward LSTM LMs).

    Ctrl-C writes a checkpoint; run the same command with --resume to carry on. The
    model loads as encoders.load("bilm:OUTPUT").
    """
    import shutil

    from embedlab.io import check_folder_path
    from embedlab.train import BiLM

    text = Corpus(corpus, encoding=encoding)
    check_folder_path(output)  # before hours of training, not after
    folder = checkpoint or output.with_name(output.name + ".checkpoint")
    model = BiLM(
        dim=dim,
        hidden=hidden,
        layers=layers,
        vocab_size=vocab_size,
        min_count=min_count,
        window=window,
        batch_size=batch_size,
        epochs=epochs,
        lr=lr,
        threads=threads,
        seed=seed,
    )
    try:
        encoder = model.train(
            text,
            progress=not json_output,
            checkpoint=folder,
            checkpoint_every=checkpoint_every,
            resume=resume,
        )
    except KeyboardInterrupt:
        if (folder / "checkpoint.json").is_file():
            console.print(f"checkpoint in {folder}; add --resume to carry on", highlight=False)
        raise
    encoder.save(output)
    if checkpoint is None:
        shutil.rmtree(folder, ignore_errors=True)
    stats = model.stats
    if stats is None:  # train() always sets it; keeps the type checker honest
        raise RuntimeError("training finished without statistics")
    if json_output:
        emit_json({"model": str(output), "kind": "bilm", **stats.to_dict()})
        return
    console.print(
        f"[green]saved[/] a BiLM ({encoder.dim} dims, {stats.vocab_size:,} output words) to "
        f"[bold]{output}[/] · {stats.tokens_trained:,} tokens in {stats.seconds:.1f} s "
        f"({stats.tokens_per_second:,.0f} tokens/s) · final loss {stats.losses[-1]:.4f}"
    )
