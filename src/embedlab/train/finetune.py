"""Fine-tuning a sentence encoder for a domain on (query, positive[, negative]) pairs.

The rules, stated once:

- **Pairs** come from a JSONL file, one object a line: ``{"query": str, "positive": str}``
  and optionally ``"negative": str`` (a hard negative). Blank lines are skipped; anything
  else that is not such an object is a :class:`~embedlab.errors.FormatError` naming the
  file and the line. Either every pair has a negative or none has (the loss takes a fixed
  number of columns).
- **Loss**: multiple-negatives ranking (InfoNCE with in-batch negatives, plus the hard
  negatives), through sentence-transformers' trainer on CPU, with a batch sampler that
  keeps duplicate texts out of a batch (they would be false negatives).
- **Held-out evaluation** before and after: ``eval_fraction`` of the pairs (drawn with
  ``seed``), or ``eval_pairs`` when given, never trained on. Each held-out query ranks the
  held-out positives (and negatives, as distractors) by cosine; the score is MRR@10.
- **Output**: a sentence-transformers folder (``encoders.load(folder)`` reads it) plus
  ``embedlab_finetune.json``: the base model and a hash of its files, the pairs file and
  its sha256, the parameters, the sizes, the MRR before and after, the time taken. It is
  written under a temporary name and renamed into place, so a crash or a stop leaves no
  half-written folder.
- **Stopping**: ``should_stop()`` is asked after every step; when it answers true, training
  ends at once, nothing is written, and the report says ``stopped=True``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedlab._validation import check_float, check_int
from embedlab.errors import (
    FormatError,
    InvalidParameterError,
    MissingDependencyError,
    MissingFileError,
)

__all__ = [
    "FinetuneProgress",
    "FinetuneReport",
    "Pair",
    "finetune",
    "pairs_mrr",
    "read_pairs",
]

PROVENANCE_FILE = "embedlab_finetune.json"
PIP_LINE = "pip install 'embedlab[finetune]'"
FIELDS = ("query", "positive", "negative")


@dataclass(frozen=True)
class Pair:
    """A query, a text that answers it, and optionally a hard negative (one that does not)."""

    query: str
    positive: str
    negative: str | None = None


@dataclass(frozen=True)
class FinetuneProgress:
    """Where fine-tuning stands: optimizer steps done, and the latest training loss."""

    step: int
    steps: int
    epoch: float
    loss: float | None


@dataclass(frozen=True)
class FinetuneReport:
    """What :func:`finetune` did; ``output`` is None when it was stopped (nothing written)."""

    base_model: str
    output: str | None
    train_pairs: int
    eval_pairs: int
    mrr_before: float
    mrr_after: float | None
    steps: int
    steps_done: int
    seconds: float
    cpu_seconds: float
    stopped: bool

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return asdict(self)


def read_pairs(path: str | os.PathLike[str]) -> list[Pair]:
    """Read a JSONL pairs file; a bad line is a FormatError naming the file and the line.

    Example:
        >>> pairs = read_pairs("pairs.jsonl")  # doctest: +SKIP
        >>> pairs[0]  # doctest: +SKIP
        Pair(query='http server', positive='A small web server ...', negative=None)
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise MissingFileError(f"no pairs file at {str(source)!r}")
    pairs: list[Pair] = []
    with_negative: bool | None = None
    with open(source, encoding="utf-8", errors="strict") as handle:
        try:
            lines = list(handle)
        except UnicodeDecodeError as exc:
            raise FormatError(f"not UTF-8 text ({exc.reason})", path=str(source)) from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        pair = _parse(line, str(source), number)
        has = pair.negative is not None
        if with_negative is None:
            with_negative = has
        elif has != with_negative:
            raise FormatError(
                f"every pair must have a 'negative' or none may; the first pair "
                f"{'has' if with_negative else 'has none'}, this one "
                f"{'has' if has else 'has none'}",
                path=str(source),
                line=number,
            )
        pairs.append(pair)
    if not pairs:
        raise FormatError("no pairs: the file is empty", path=str(source))
    return pairs


def _parse(line: str, path: str, number: int) -> Pair:
    """One JSONL line as a Pair, or a FormatError naming the line."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"not valid JSON ({exc.msg}, column {exc.colno})", path=path, line=number
        ) from None
    if not isinstance(item, dict):
        raise FormatError(
            f"expected a JSON object with 'query' and 'positive', got {type(item).__name__}",
            path=path,
            line=number,
        )
    unknown = sorted(set(item) - set(FIELDS))
    if unknown:
        raise FormatError(
            f"unknown field(s) {', '.join(map(repr, unknown))}; expected 'query', 'positive' "
            "and optionally 'negative'",
            path=path,
            line=number,
        )
    values: dict[str, str | None] = {}
    for field in FIELDS:
        value = item.get(field)
        if value is None and field == "negative":
            values[field] = None
            continue
        if value is None:
            raise FormatError(f"missing field {field!r}", path=path, line=number)
        if not isinstance(value, str) or not value.strip():
            raise FormatError(
                f"field {field!r} must be a non-empty string, got {value!r:.60}",
                path=path,
                line=number,
            )
        values[field] = value
    return Pair(str(values["query"]), str(values["positive"]), values["negative"])


def pairs_mrr(encode: Callable[[list[str]], np.ndarray], pairs: Sequence[Pair]) -> float:
    """MRR@10 of each pair's query ranking every pair's positive (and negatives) by cosine.

    ``encode`` maps texts to unit rows. Example:
        >>> from embedlab.encoders import load
        >>> enc = load("minilm")  # doctest: +SKIP
        >>> pairs_mrr(lambda t: enc.encode(t, normalize=True), pairs)  # doctest: +SKIP
        0.71
    """
    if not pairs:
        raise InvalidParameterError("The 'pairs' parameter must hold at least one pair.")
    documents = list(dict.fromkeys([p.positive for p in pairs] + [p.negative or "" for p in pairs]))
    documents = [d for d in documents if d]
    where = {text: i for i, text in enumerate(documents)}
    queries = np.asarray(encode([p.query for p in pairs]), dtype=np.float32)
    docs = np.asarray(encode(documents), dtype=np.float32)
    scores = queries @ docs.T
    total = 0.0
    for row, pair in enumerate(pairs):
        target = scores[row, where[pair.positive]]
        rank = int(np.sum(scores[row] > target)) + 1
        total += 1.0 / rank if rank <= 10 else 0.0
    return total / len(pairs)


def finetune(
    model: str | os.PathLike[str],
    pairs: str | os.PathLike[str] | Sequence[Pair],
    output: str | os.PathLike[str],
    *,
    eval_pairs: str | os.PathLike[str] | Sequence[Pair] | None = None,
    eval_fraction: float = 0.1,
    epochs: float = 1.0,
    batch_size: int = 32,
    learning_rate: float = 2e-5,
    warmup_ratio: float = 0.1,
    scale: float = 20.0,
    seed: int = 0,
    progress: Callable[[FinetuneProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FinetuneReport:
    """Fine-tune a sentence encoder (a registered name or a model folder) on pairs.

    ``pairs`` is a JSONL file (see :func:`read_pairs`) or a list of :class:`Pair`. The
    held-out pairs are ``eval_pairs``, else ``eval_fraction`` of ``pairs``. Returns the
    report; the model folder is at ``output`` unless the run was stopped.

    Example:
        >>> report = finetune("minilm", "pairs.jsonl", "my-model", epochs=1)  # doctest: +SKIP
        >>> report.mrr_before, report.mrr_after  # doctest: +SKIP
        (0.61, 0.74)
        >>> from embedlab.encoders import load
        >>> load("my-model").encode(["a query"]).shape  # doctest: +SKIP
        (1, 384)
    """
    from embedlab import __version__
    from embedlab.encoders._loading import import_torch, load_model, locate
    from embedlab.encoders.distilled import files_hash
    from embedlab.io._files import check_output_path

    began, cpu_began = time.perf_counter(), time.process_time()
    epochs = check_float("epochs", epochs, inclusive_min=False)
    batch_size = check_int("batch_size", batch_size, minimum=2)
    learning_rate = check_float("learning_rate", learning_rate, inclusive_min=False)
    warmup_ratio = check_float("warmup_ratio", warmup_ratio, minimum=0.0, maximum=1.0)
    scale = check_float("scale", scale, inclusive_min=False)
    seed = check_int("seed", seed, minimum=0)
    target = check_output_path(output, folder=True, what="model folder")
    if target.exists() and any(target.iterdir()) and not (target / PROVENANCE_FILE).is_file():
        raise InvalidParameterError(
            f"refusing to replace {target}: it is not empty and not a fine-tuned model folder"
        )
    source, train, held_out = _split(pairs, eval_pairs, eval_fraction, seed)
    folder = locate(model)
    torch, _ = import_torch()
    torch.manual_seed(seed)
    st_model = load_model(folder, pooling=None, device="cpu")

    def encode(texts: list[str]) -> np.ndarray:
        vectors: np.ndarray = st_model.encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
        )
        return vectors

    mrr_before = pairs_mrr(encode, held_out)
    params = {
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "warmup_ratio": warmup_ratio,
        "scale": scale,
        "seed": seed,
        "eval_fraction": eval_fraction if eval_pairs is None else None,
    }
    with tempfile.TemporaryDirectory(prefix="embedlab-finetune-") as scratch:
        steps, done, stopped = _train(st_model, train, params, Path(scratch), progress, should_stop)
    seconds = time.perf_counter() - began
    if stopped:
        return FinetuneReport(
            folder.name, None, len(train), len(held_out), mrr_before, None, steps, done,
            seconds, time.process_time() - cpu_began, True,
        )  # fmt: skip
    mrr_after = pairs_mrr(encode, held_out)
    provenance = {
        "kind": "finetuned-sentence-encoder",
        "base_model": folder.name,
        "base_model_path": str(folder.path),
        "base_model_hash": files_hash(folder.path),
        "pairs": source,
        "loss": "MultipleNegativesRankingLoss",
        "params": params,
        "train_pairs": len(train),
        "eval_pairs": len(held_out),
        "hard_negatives": train[0].negative is not None,
        "mrr@10_before": mrr_before,
        "mrr@10_after": mrr_after,
        "seconds": round(time.perf_counter() - began, 1),
        "cpu_seconds": round(time.process_time() - cpu_began, 1),
        "torch_threads": int(torch.get_num_threads()),
        "library_version": __version__,
    }
    _save(st_model, target, provenance)
    return FinetuneReport(
        folder.name, str(target), len(train), len(held_out), mrr_before, mrr_after, steps, done,
        time.perf_counter() - began, time.process_time() - cpu_began, False,
    )  # fmt: skip


def _split(
    pairs: str | os.PathLike[str] | Sequence[Pair],
    eval_pairs: str | os.PathLike[str] | Sequence[Pair] | None,
    fraction: float,
    seed: int,
) -> tuple[dict[str, Any] | None, list[Pair], list[Pair]]:
    """(where the pairs came from, training pairs, held-out pairs)."""
    train, source = _pairs(pairs, "pairs")
    if eval_pairs is not None:
        held_out, eval_source = _pairs(eval_pairs, "eval_pairs")
        if source is not None and eval_source is not None:
            source = {"train": source, "eval": eval_source}
    else:
        fraction = check_float("eval_fraction", fraction, inclusive_min=False, maximum=0.5)
        order = np.random.default_rng(seed).permutation(len(train))
        cut = max(1, round(len(train) * fraction))
        held_out = [train[i] for i in sorted(order[:cut])]
        train = [train[i] for i in sorted(order[cut:])]
    if len(train) < 2:
        raise InvalidParameterError(
            f"fine-tuning needs at least 2 training pairs; {len(train)} left after holding out "
            f"{len(held_out)} for evaluation"
        )
    if (train[0].negative is None) != (held_out[0].negative is None):
        raise InvalidParameterError(
            "the training and the held-out pairs must both have hard negatives or both not"
        )
    return source, train, held_out


def _pairs(value: object, name: str) -> tuple[list[Pair], dict[str, Any] | None]:
    """Pairs from a file (with its name and sha256) or from a list of Pair."""
    if isinstance(value, str | os.PathLike):
        path = Path(value).expanduser()
        pairs = read_pairs(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return pairs, {"file": str(path.resolve()), "sha256": digest, "pairs": len(pairs)}
    if not isinstance(value, Sequence) or not all(isinstance(p, Pair) for p in value):
        raise InvalidParameterError(
            f"The {name!r} parameter must be a JSONL file path or a list of Pair. "
            f"Got {type(value).__name__}."
        )
    if not value:
        raise InvalidParameterError(f"The {name!r} parameter must hold at least one pair.")
    return list(value), None


def _train(
    st_model: Any,
    train: list[Pair],
    params: dict[str, Any],
    scratch: Path,
    progress: Callable[[FinetuneProgress], None] | None,
    should_stop: Callable[[], bool] | None,
) -> tuple[int, int, bool]:
    """Run sentence-transformers' trainer; (steps planned, steps done, whether stopped)."""
    try:
        import accelerate  # type: ignore[import-untyped]  # noqa: F401  # the trainer needs it
        from datasets import Dataset  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingDependencyError(
            f"fine-tuning needs sentence-transformers' trainer ({exc.name} is missing); "
            f"install it with: {PIP_LINE}"
        ) from exc
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import TrainerCallback
    from transformers.utils import logging as hf_logging

    columns: dict[str, list[str]] = {
        "anchor": [p.query for p in train],
        "positive": [p.positive for p in train],
    }
    if train[0].negative is not None:
        columns["negative"] = [str(p.negative) for p in train]
    counts = {"stopped": False, "done": 0, "steps": 0}

    class _Hooks(TrainerCallback):
        """Progress events, and the stop check after each step."""

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            counts["done"], counts["steps"] = state.global_step, state.max_steps
            if should_stop is not None and should_stop():
                counts["stopped"] = True
                control.should_training_stop = True
            return control

        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            loss = (kwargs.get("logs") or {}).get("loss")
            if progress is not None:
                progress(
                    FinetuneProgress(
                        state.global_step,
                        state.max_steps,
                        float(state.epoch or 0.0),
                        None if loss is None else float(loss),
                    )
                )
            return control

    args = SentenceTransformerTrainingArguments(
        output_dir=str(scratch),
        num_train_epochs=params["epochs"],
        per_device_train_batch_size=params["batch_size"],
        learning_rate=params["learning_rate"],
        warmup_steps=params["warmup_ratio"],  # a float below 1: a share of the steps
        seed=params["seed"],
        data_seed=params["seed"],
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        save_strategy="no",
        logging_strategy="steps",
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
        dataloader_num_workers=0,
    )
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # its model card's tqdm bar
            trainer = SentenceTransformerTrainer(
                model=st_model,
                args=args,
                train_dataset=Dataset.from_dict(columns),
                loss=MultipleNegativesRankingLoss(st_model, scale=params["scale"]),
                callbacks=[_Hooks()],
            )
        trainer.remove_callback(_printer_callback())
        trainer.train()
    finally:
        hf_logging.set_verbosity(verbosity)
    return int(counts["steps"]), int(counts["done"]), bool(counts["stopped"])


def _printer_callback() -> Any:
    """transformers' callback that prints the logs dict each step (we draw our own)."""
    from transformers.trainer_callback import PrinterCallback

    return PrinterCallback


def _save(st_model: Any, target: Path, provenance: dict[str, Any]) -> None:
    """Write the model and its provenance under a temporary name, then rename into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # "Writing model shards"
    try:
        st_model.save(str(staging))
        (staging / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=1), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if bar:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
