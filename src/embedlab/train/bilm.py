"""BiLM: train ELMo-style contextual embeddings (a bidirectional LSTM language model).

How a run goes, and the promises it keeps:

1. The corpus is scanned once by the streaming reader (:func:`~embedlab.text.scan_corpus`),
   which writes token ids to a temporary file; the output vocabulary is the
   ``vocab_size`` most frequent words (``min_count`` or more), the rest predict ``<unk>``.
   Inputs are characters, so every token, kept or not, has its own input vector.
2. The id stream (line ends become a boundary token) is cut into windows of ``window``
   tokens; each epoch visits every window once in an order fixed by ``(seed, epoch)``, in
   batches of ``batch_size``. Adam, gradient clipping at ``clip``.
3. With ``checkpoint=DIR`` the whole state (weights, Adam's moments, the RNG, the position)
   is written there every ``checkpoint_every`` seconds, at each epoch's end and on Ctrl-C
   (safetensors + JSON, written to a temporary name and renamed). ``resume=True`` carries
   on from it; a checkpoint from other parameters or another corpus is refused. With
   ``threads=1`` an interrupted and resumed run ends with the same weights as one that
   was never interrupted.
4. A Ctrl-C never lands inside an optimizer update (it is held until the update ends), so
   the checkpoint it writes is always a consistent state; then KeyboardInterrupt propagates.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab._progress import EpochProgress, ProgressCallback, rich_training_progress
from embedlab._validation import check_float, check_int
from embedlab.errors import (
    CorpusError,
    FormatError,
    InvalidParameterError,
    MissingDependencyError,
    TrainingDivergedError,
)
from embedlab.text.corpus import Corpus, CorpusSource
from embedlab.text.encode import scan_corpus
from embedlab.text.tokenize import canonical_token
from embedlab.text.vocabulary import Vocabulary
from embedlab.train._base import ThreadsParam

if TYPE_CHECKING:
    from embedlab.encoders._bilm_net import NetConfig
    from embedlab.encoders.bilm import BiLMEncoder

__all__ = ["BiLM", "BiLMParams", "BiLMStats"]

CHECKPOINT_JSON = "checkpoint.json"
CHECKPOINT_TENSORS = "checkpoint.safetensors"


@dataclass(frozen=True)
class BiLMParams(ThreadsParam):
    """Hyper-parameters of a BiLM run; the defaults train ~4 M weights on 2 CPU cores.

    ``vocab_size`` counts the output words (``<unk>`` and the boundary come on top);
    ``window`` is the tokens per training sequence.
    """

    dim: int = 128
    hidden: int = 256
    layers: int = 2
    max_chars: int = 20
    vocab_size: int = 10_000
    min_count: int = 3
    window: int = 32
    batch_size: int = 32
    epochs: int = 1
    sampled: int = 512
    """Words sampled per step for the sampled softmax (0: the full softmax; also used
    when the vocabulary is not larger than twice this)."""
    lr: float = 2e-3
    dropout: float = 0.1
    clip: float = 5.0
    threads: int = 1
    """torch threads (0: every core). 1 by default: on a loaded 2-core machine, 2 OpenMP
    threads ran an LSTM step ~10x slower than 1 (they spin waiting for each other)."""
    seed: int = 1

    def __post_init__(self) -> None:
        check_int("dim", self.dim, minimum=2)
        check_int("hidden", self.hidden, minimum=2)
        check_int("layers", self.layers, maximum=8)
        check_int("max_chars", self.max_chars, minimum=4)
        check_int("vocab_size", self.vocab_size)
        check_int("min_count", self.min_count)
        check_int("window", self.window, minimum=2)
        check_int("batch_size", self.batch_size)
        check_int("epochs", self.epochs)
        check_int("sampled", self.sampled, minimum=0)
        check_float("lr", self.lr, inclusive_min=False, maximum=1.0)
        check_float("dropout", self.dropout, maximum=0.9)
        check_float("clip", self.clip, inclusive_min=False)
        check_int("threads", self.threads, minimum=0)
        check_int("seed", self.seed, minimum=0)

    def net_config(self, out_words: int) -> NetConfig:
        """The network these parameters build over ``out_words`` output words."""
        from embedlab.encoders._bilm_net import NetConfig

        return NetConfig(
            vocab_size=out_words,
            dim=self.dim,
            hidden=self.hidden,
            layers=self.layers,
            max_chars=self.max_chars,
            dropout=self.dropout,
        )


@dataclass(frozen=True)
class BiLMStats:
    """What a training call did and how fast (``tokens_per_second`` over training steps
    only, this call's share when resumed; boundary tokens count as tokens)."""

    corpus_words: int
    lines: int
    vocab_size: int
    tokens_trained: int
    epochs: int
    steps: int
    scan_seconds: float
    seconds: float
    tokens_per_second: float
    cpu_seconds: float
    """Process CPU time of the training steps (on a busy machine, wall time overstates)."""
    losses: tuple[float, ...]
    resumed_from_step: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        d = dataclasses.asdict(self)
        d["losses"] = list(self.losses)
        return d


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is in the transformers extra
        raise MissingDependencyError(
            "BiLM needs torch; install it with: pip install 'embedlab[transformers]'"
        ) from exc
    return torch


class BiLM:
    """Train a bidirectional LSTM language model; return its contextual encoder.

    Example:
        >>> corpus = ["the cat sat on the mat", "the dog sat on the log"] * 40
        >>> enc = BiLM(dim=8, hidden=16, window=8, vocab_size=20, min_count=1,
        ...            threads=1).train(corpus)
        >>> enc.encode(["the cat"]).shape
        (1, 16)
    """

    def __init__(self, **params: Any) -> None:
        try:
            self.params = BiLMParams(**params)
        except TypeError as exc:
            names = ", ".join(f.name for f in dataclasses.fields(BiLMParams))
            raise InvalidParameterError(f"{exc}; valid parameters are {names}") from None
        self.stats: BiLMStats | None = None

    def train(
        self,
        corpus: CorpusSource | Corpus,
        *,
        progress: bool = False,
        callback: ProgressCallback | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every: float = 300.0,
        resume: bool = False,
    ) -> BiLMEncoder:
        """Train on the corpus and return a :class:`~embedlab.encoders.bilm.BiLMEncoder`.

        ``callback`` gets the scan's events, then :class:`~embedlab._progress.EpochProgress`
        (tokens done, tokens/s, mean loss of the epoch so far); ``progress=True`` draws
        them instead. See the module docstring for ``checkpoint`` and ``resume``.
        """
        check_float("checkpoint_every", checkpoint_every, inclusive_min=False)
        if resume and checkpoint is None:
            raise InvalidParameterError("resume=True needs checkpoint=DIR to resume from")
        folder = None if checkpoint is None else Path(checkpoint)
        if folder is not None and folder.exists() and not folder.is_dir():
            raise InvalidParameterError(f"checkpoint {str(folder)!r} is a file, not a folder")
        if progress and callback is None:
            with rich_training_progress() as draw:
                return self._train(corpus, draw, folder, checkpoint_every, resume)
        return self._train(corpus, callback, folder, checkpoint_every, resume)

    def _train(
        self,
        corpus: CorpusSource | Corpus,
        callback: ProgressCallback | None,
        folder: Path | None,
        every: float,
        resume: bool,
    ) -> BiLMEncoder:
        from embedlab.encoders._bilm_net import BOUNDARY, BiLMNet, char_ids
        from embedlab.encoders.bilm import BiLMEncoder

        torch = _torch()
        p = self.params
        text = corpus if isinstance(corpus, Corpus) else Corpus(corpus)
        with tempfile.TemporaryDirectory(prefix="embedlab-bilm-") as tmp:
            scan = scan_corpus(text, ids_path=Path(tmp) / "ids.i32", progress=callback)
            if scan.words == 0:
                raise CorpusError(f"{text.description}: the corpus is empty: it holds no words")
            vocab, remap = Vocabulary.from_scan(scan, min_count=p.min_count, max_size=p.vocab_size)
            tokens = [canonical_token(k) for k in scan.raw_keys] + [BOUNDARY]
            table = char_ids(tokens, p.max_chars)
            targets = np.append(np.where(remap >= 0, remap + 2, 0), 1).astype(np.int64)
            ids = np.memmap(scan.ids_path or "", dtype=np.int32, mode="r")
            n_windows = len(ids) // p.window
            if n_windows == 0:
                raise CorpusError(
                    f"{text.description}: the corpus has {len(ids)} tokens (line ends "
                    f"included), fewer than one window of {p.window}; lower window"
                )
            out_words = ["<unk>", BOUNDARY, *vocab.keys]
            cfg = p.net_config(len(out_words))
            fingerprint = _fingerprint(out_words, scan.words)
            previous = torch.get_num_threads()
            torch.set_num_threads(p.resolved_threads)
            try:
                torch.manual_seed(p.seed)
                net = BiLMNet(cfg)
                opt = torch.optim.Adam(net.parameters(), lr=p.lr)
                log_q = None
                if p.sampled and len(out_words) > 2 * p.sampled:
                    q = (
                        np.append(
                            [float(scan.words - vocab.counts.sum()), scan.lines],
                            vocab.counts.astype(np.float64),
                        )
                        ** 0.75
                    )
                    log_q = torch.from_numpy(np.log(q / q.sum()).astype(np.float32))
                state = _State()
                if resume and folder is not None and (folder / CHECKPOINT_JSON).is_file():
                    state = _load_checkpoint(folder, net, opt, p, fingerprint)

                def batches(epoch: int, start: int) -> Iterator[tuple[int, Any, Any]]:
                    order = np.random.default_rng([p.seed, epoch]).permutation(n_windows)
                    offsets = np.arange(p.window)
                    for step in range(start, math.ceil(n_windows / p.batch_size)):
                        chosen = order[step * p.batch_size : (step + 1) * p.batch_size]
                        raw = np.asarray(ids[chosen[:, None] * p.window + offsets])
                        raw[raw < 0] = len(tokens) - 1
                        yield step, torch.from_numpy(table[raw]), torch.from_numpy(targets[raw])

                started, cpu_started = time.perf_counter(), time.process_time()
                done = _loop(
                    net,
                    opt,
                    p,
                    state,
                    batches,
                    n_windows,
                    callback,
                    folder,
                    every,
                    fingerprint,
                    log_q,
                )
                seconds = time.perf_counter() - started
                cpu_seconds = time.process_time() - cpu_started
            finally:
                torch.set_num_threads(previous)
        net.eval()
        self.stats = BiLMStats(
            corpus_words=scan.words,
            lines=scan.lines,
            vocab_size=len(out_words),
            tokens_trained=state.tokens,
            epochs=p.epochs,
            steps=state.steps,
            scan_seconds=scan.seconds,
            seconds=seconds,
            tokens_per_second=done / max(seconds, 1e-9),
            cpu_seconds=cpu_seconds,
            losses=tuple(state.losses),
            resumed_from_step=state.resumed_from,
        )
        config = {
            "params": dataclasses.asdict(p) | {"threads": p.resolved_threads},
            "corpus": {"words": scan.words, "lines": scan.lines, "description": text.description},
            "training": self.stats.to_dict(),
        }
        counts = [0, 0, *vocab.counts.tolist()]
        return BiLMEncoder(net, out_words, counts=counts, training=config)


@dataclass
class _State:
    """Where training stands (what a checkpoint's JSON holds besides the parameters)."""

    epoch: int = 0
    step: int = 0
    steps: int = 0
    tokens: int = 0
    loss_sum: float = 0.0
    loss_terms: int = 0
    losses: list[float] = dataclasses.field(default_factory=list)
    resumed_from: int = 0


def _loop(
    net: Any,
    opt: Any,
    p: BiLMParams,
    state: _State,
    batches: Any,
    n_windows: int,
    callback: ProgressCallback | None,
    folder: Path | None,
    every: float,
    fingerprint: str,
    log_q: Any,
) -> int:
    """Run the remaining steps of every epoch; return the tokens this call trained."""
    torch = _torch()
    per_epoch = n_windows * p.window
    started = last_save = last_report = time.perf_counter()
    done = 0
    net.train()
    rng = torch.get_rng_state()  # dropout's RNG as it was when the next step began
    try:
        while state.epoch < p.epochs:
            for step, chars, gold in batches(state.epoch, state.step):
                sampled = None
                if log_q is not None:
                    sampled = torch.multinomial(log_q.exp(), p.sampled, replacement=True)
                loss = net.loss(chars, gold, sampled=sampled, log_q=log_q)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise TrainingDivergedError(
                        f"training diverged in epoch {state.epoch + 1} of {p.epochs}, step "
                        f"{step}: the loss was {value}; lower lr (got {p.lr})"
                    )
                torch.nn.utils.clip_grad_norm_(net.parameters(), p.clip)
                with _held_interrupts():
                    opt.step()
                    state.step = step + 1
                    state.steps += 1
                    state.tokens += gold.numel()
                    state.loss_sum += value * gold.numel()
                    state.loss_terms += gold.numel()
                    rng = torch.get_rng_state()
                done += gold.numel()
                now = time.perf_counter()
                if callback is not None and (now - last_report >= 0.5 or done == gold.numel()):
                    last_report = now
                    callback(_event(state, p, per_epoch, done / max(now - started, 1e-9)))
                if folder is not None and now - last_save >= every:
                    _save_checkpoint(folder, net, opt, p, state, fingerprint, rng)
                    last_save = now
            state.losses.append(state.loss_sum / max(state.loss_terms, 1))
            state.epoch, state.step, state.loss_sum, state.loss_terms = state.epoch + 1, 0, 0.0, 0
            if callback is not None:
                rate = done / max(time.perf_counter() - started, 1e-9)
                callback(_event(state, p, per_epoch, rate))
            if folder is not None:
                _save_checkpoint(folder, net, opt, p, state, fingerprint, rng)
                last_save = time.perf_counter()
    except KeyboardInterrupt:
        if folder is not None:
            _save_checkpoint(folder, net, opt, p, state, fingerprint, rng)
        raise
    return done


def _event(state: _State, p: BiLMParams, per_epoch: int, rate: float) -> EpochProgress:
    epoch = min(state.epoch, p.epochs - 1)
    position = min(state.step * p.batch_size * p.window, per_epoch)
    loss = state.loss_sum / state.loss_terms if state.loss_terms else state.losses[-1]
    return EpochProgress(
        epoch=epoch,
        epochs=p.epochs,
        words_done=state.epoch * per_epoch + position
        if state.epoch < p.epochs
        else p.epochs * per_epoch,
        words_total=p.epochs * per_epoch,
        words_per_second=rate,
        loss=loss,
    )


@contextmanager
def _held_interrupts() -> Iterator[None]:
    """Hold a SIGINT that arrives inside the block; raise KeyboardInterrupt when it ends."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):  # another thread, or SIGINT ignored or handled by the caller: leave it as it is
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _fingerprint(out_words: list[str], words: int) -> str:
    digest = hashlib.sha256("\n".join(out_words).encode("utf-8", "surrogatepass"))
    return f"{words}:{digest.hexdigest()[:16]}"


def _save_checkpoint(
    folder: Path, net: Any, opt: Any, p: BiLMParams, state: _State, fingerprint: str, rng: Any
) -> None:
    """Write weights, Adam's state and the RNG (safetensors) and the position (JSON)."""
    torch = _torch()
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"net.{k}": v.detach().contiguous() for k, v in net.state_dict().items()}
    names = {id(param): name for name, param in net.named_parameters()}
    for param, slots in opt.state.items():
        for slot, value in slots.items():
            tensors[f"adam.{names[id(param)]}.{slot}"] = torch.as_tensor(value).contiguous()
    tensors["rng"] = rng
    meta = {
        "format": "embedlab-bilm-checkpoint",
        "params": dataclasses.asdict(p),
        "fingerprint": fingerprint,
        "state": dataclasses.asdict(state),
    }
    partial = folder / (CHECKPOINT_TENSORS + ".partial")
    save_file(tensors, str(partial))
    os.replace(partial, folder / CHECKPOINT_TENSORS)
    partial = folder / (CHECKPOINT_JSON + ".partial")
    partial.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    os.replace(partial, folder / CHECKPOINT_JSON)


def _load_checkpoint(folder: Path, net: Any, opt: Any, p: BiLMParams, fingerprint: str) -> _State:
    """Restore a checkpoint into net and opt; refuse one from other params or corpus."""
    torch = _torch()
    from safetensors.torch import load_file

    path = folder / CHECKPOINT_JSON
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        tensors = load_file(str(folder / CHECKPOINT_TENSORS))
    except (OSError, ValueError, RuntimeError) as exc:
        raise FormatError(f"cannot read the checkpoint: {exc}", path=str(path)) from None
    saved = meta.get("params", {})
    ours = dataclasses.asdict(p)
    differ = sorted(k for k in ours if k != "threads" and saved.get(k) != ours[k])
    if differ:
        shown = ", ".join(f"{k}={saved.get(k)!r} (now {ours[k]!r})" for k in differ)
        raise InvalidParameterError(
            f"the checkpoint in {str(folder)!r} was made with other parameters: {shown}; "
            "resume with the same parameters or start over without resume"
        )
    if meta.get("fingerprint") != fingerprint:
        raise InvalidParameterError(
            f"the checkpoint in {str(folder)!r} was made on another corpus (its words and "
            "vocabulary differ); resume on the same corpus or start over without resume"
        )
    try:
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        params = dict(net.named_parameters())
        for key, value in tensors.items():
            if key.startswith("adam."):
                name, _, slot = key[5:].rpartition(".")
                opt.state[params[name]][slot] = value
    except (KeyError, RuntimeError) as exc:
        raise FormatError(f"checkpoint weights do not fit: {exc}", path=str(path)) from None
    torch.set_rng_state(tensors["rng"])
    state = _State(**meta["state"])
    state.resumed_from = state.steps
    return state
