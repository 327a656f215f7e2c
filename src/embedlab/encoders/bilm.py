"""BiLMEncoder: contextual token vectors and pooled text vectors from a trained BiLM.

A text is tokenized as for training (:func:`~embedlab.text.tokenize.tokenize`), framed by
line-boundary tokens, and read by both LMs; each token gets ``layers + 1`` vectors of
``2 x dim`` (see :mod:`embedlab.encoders._bilm_net`). Which of them a token's vector is:

- ``layer=None`` (default): ELMo's mix ``gamma * sum_j softmax(weights)_j * layer_j``;
  ``weights=None`` is the fixed average. Learned weights (ELMo trains them on the
  downstream task, e.g. with :class:`~embedlab.encoders._bilm_net.ScalarMix` over
  :meth:`BiLMEncoder.layer_vectors`) are passed as ``weights`` and ``gamma``.
- ``layer=j``: layer j alone (0: the context-free char-CNN vector; the last: the top LSTMs).

A text's vector is the mean of its tokens' vectors; an empty text (no tokens) gives the zero
vector. There is no length limit (``max_tokens`` is None).

On disk a model is a folder: ``config.json`` (kind ``bilm``, the network's shape, the
training run), ``model.safetensors`` (the weights) and ``vocab.txt`` (the output words and
their corpus counts, one a line). ``encoders.load("bilm:PATH")`` opens one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_float, check_int
from embedlab.encoders._bilm_net import BOUNDARY, BiLMNet, NetConfig, char_ids, mix_layers
from embedlab.encoders.base import check_texts
from embedlab.errors import FormatError, InvalidParameterError, MissingFileError, UnknownKeyError
from embedlab.text.tokenize import tokenize

__all__ = ["BiLMEncoder"]

FloatArray = npt.NDArray[np.float32]
KIND = "bilm"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
VOCAB_FILE = "vocab.txt"


class BiLMEncoder:
    """Contextual embeddings from a bidirectional LSTM LM (made by :class:`~embedlab.train.BiLM`).

    Example:
        >>> enc = BiLMEncoder.load("bilm-model")  # doctest: +SKIP
        >>> tokens, vectors = enc.encode_tokens("the river bank")  # doctest: +SKIP
        >>> enc.word_in_context("money in the bank", "bank").shape  # doctest: +SKIP
        (256,)
    """

    def __init__(
        self,
        net: BiLMNet,
        words: Sequence[str],
        *,
        counts: Sequence[int] | None = None,
        training: dict[str, Any] | None = None,
        layer: int | None = None,
        weights: Sequence[float] | None = None,
        gamma: float = 1.0,
        threads: int = 1,
        name: str | None = None,
    ) -> None:
        import torch

        self._torch = torch
        self.net = net.eval()
        self.words = list(words)
        self.counts = list(counts) if counts is not None else [0] * len(self.words)
        self.training = dict(training or {})
        n_layers = net.cfg.layers + 1
        self.layer = (
            None if layer is None else check_int("layer", layer, minimum=0, maximum=n_layers - 1)
        )
        if weights is not None and len(weights) != n_layers:
            raise InvalidParameterError(
                f"The 'weights' parameter must hold {n_layers} numbers (one per layer, "
                f"0..{n_layers - 1}). Got {len(weights)}."
            )
        self.weights = np.zeros(n_layers) if weights is None else np.asarray(weights, float)
        if not np.isfinite(self.weights).all():
            raise InvalidParameterError(f"The 'weights' must be finite. Got {list(weights or [])}.")
        self.gamma = check_float("gamma", gamma, minimum=-1e6, maximum=1e6)
        self.threads = check_int("threads", threads, minimum=0)
        """torch threads while encoding (0: torch's default); 1 by default, see BiLMParams."""
        self.name: str = name or "bilm"
        self.path: Path | None = None

    # -- the Encoder protocol ------------------------------------------------------------

    @property
    def dim(self) -> int:
        """2 x the network's dim (forward and backward halves)."""
        return 2 * self.net.cfg.dim

    @property
    def max_tokens(self) -> None:
        """No limit: the LSTMs read any length."""
        return None

    def __repr__(self) -> str:
        which = "mix" if self.layer is None else f"layer {self.layer}"
        return f"BiLMEncoder({self.name!r}, dim={self.dim}, {which})"

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        normalize: bool = False,
        show_progress: bool = False,
        prompt: str | None = None,
    ) -> FloatArray:
        """Mean of each text's contextual token vectors: (len(texts), dim), float32.

        ``prompt`` is put before each text (its tokens are read but not pooled).

        Example:
            >>> BiLMEncoder.load("bilm-model").encode(["a bank"]).shape  # doctest: +SKIP
            (1, 256)
        """
        items = check_texts(texts)
        batch_size = check_int("batch_size", batch_size)
        skip = len(tokenize(prompt)) if prompt else 0
        token_lists = [tokenize((prompt + " " if prompt else "") + t) for t in items]
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        for index, vectors in self._vectors(token_lists, batch_size):
            rows = vectors[skip:]
            if len(rows):
                out[index] = rows.mean(axis=0)
        if normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out /= np.where(norms > 0, norms, 1).astype(np.float32)
        return out

    # -- contextual token vectors --------------------------------------------------------

    def encode_tokens(self, text: str) -> tuple[list[str], FloatArray]:
        """The text's tokens and their contextual vectors (len(tokens), dim).

        Example:
            >>> BiLMEncoder.load("bilm-model").encode_tokens("Hi there")[0]  # doctest: +SKIP
            ['hi', 'there']
        """
        tokens = tokenize(check_texts([text], name="text")[0])
        vectors = dict(self._vectors([tokens], 1)).get(0, np.zeros((0, self.dim), np.float32))
        return tokens, vectors

    def layer_vectors(self, text: str) -> tuple[list[str], FloatArray]:
        """The text's tokens and every layer of them: (layers + 1, len(tokens), dim)."""
        tokens = tokenize(check_texts([text], name="text")[0])
        layers = self._layers([tokens])[0]
        return tokens, layers

    def word_in_context(self, text: str, word: str, *, occurrence: int = 0) -> FloatArray:
        """The contextual vector of ``word`` (a whole token, any case) in ``text``.

        ``occurrence`` picks which match (0: the first); a word not in the text raises
        :class:`~embedlab.errors.UnknownKeyError`.

        Example:
            >>> enc = BiLMEncoder.load("bilm-model")  # doctest: +SKIP
            >>> enc.word_in_context("the river bank", "bank").shape  # doctest: +SKIP
            (256,)
        """
        if not isinstance(word, str) or len(tokenize(word)) != 1:
            raise InvalidParameterError(f"The 'word' parameter must be one word. Got {word!r}.")
        occurrence = check_int("occurrence", occurrence, minimum=0)
        target = tokenize(word)[0]
        tokens, vectors = self.encode_tokens(text)
        where = [i for i, t in enumerate(tokens) if t == target]
        if not where:
            error = UnknownKeyError(word, what="word")
            error.message += f" in the text {text[:80]!r}"
            raise error
        if occurrence >= len(where):
            raise InvalidParameterError(
                f"The 'occurrence' parameter must be below {len(where)}, the number of times "
                f"{word!r} occurs in the text. Got {occurrence}."
            )
        row: FloatArray = vectors[where[occurrence]].copy()
        return row

    # -- saving and loading --------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model folder (config.json, model.safetensors, vocab.txt) at path.

        Written under a temporary name and renamed into place; an existing BiLM folder
        (or empty folder) there is replaced, anything else refused.

        Example:
            >>> enc.save("bilm-model")  # doctest: +SKIP
        """
        from safetensors.torch import save_file

        from embedlab.io import check_folder_path

        target = check_folder_path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            state = {k: v.detach().contiguous() for k, v in self.net.state_dict().items()}
            save_file(state, str(tmp / WEIGHTS_FILE))
            lines = [f"{_escape(w)}\t{c}" for w, c in zip(self.words, self.counts, strict=True)]
            (tmp / VOCAB_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
            config = {
                "kind": KIND,
                "format_version": 1,
                "net": self.net.cfg.to_dict(),
                "mix": {"weights": self.weights.tolist(), "gamma": self.gamma},
                "training": self.training,
                "library_version": _version(),
            }
            (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=1), encoding="utf-8")
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.path = target

    @classmethod
    def load(cls, path: str | os.PathLike[str], **options: Any) -> BiLMEncoder:
        """Open a folder written by :meth:`save`; options as for the constructor.

        Example:
            >>> BiLMEncoder.load("bilm-model", layer=2).dim  # doctest: +SKIP
            256
        """
        from safetensors.torch import load_file

        folder = Path(path).expanduser()
        config_path = folder / CONFIG_FILE
        if not config_path.is_file():
            raise MissingFileError(f"no BiLM model folder at {str(folder)!r} (no {CONFIG_FILE})")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FormatError(f"not valid JSON: {exc}", path=str(config_path)) from None
        if not isinstance(config, dict) or config.get("kind") != KIND:
            kind = config.get("kind") if isinstance(config, dict) else None
            raise FormatError(
                f"expected a model of kind 'bilm', got {kind!r}", path=str(config_path)
            )
        try:
            cfg = NetConfig.from_dict(config["net"])
            net = BiLMNet(cfg)
            net.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
            words, counts = _read_vocab(folder / VOCAB_FILE)
        except (KeyError, TypeError, ValueError, RuntimeError, OSError) as exc:
            raise FormatError(
                f"could not load the BiLM: {type(exc).__name__}: {exc}", path=str(folder)
            ) from None
        if len(words) != cfg.vocab_size:
            raise FormatError(
                f"number of words ({len(words)}) does not match the softmax size "
                f"({cfg.vocab_size})",
                path=str(folder / VOCAB_FILE),
            )
        mix = config.get("mix") or {}
        options.setdefault("weights", mix.get("weights"))
        options.setdefault("gamma", mix.get("gamma", 1.0))
        options.setdefault("name", f"bilm:{folder.resolve().name}")
        encoder = cls(net, words, counts=counts, training=config.get("training"), **options)
        encoder.path = folder
        return encoder

    # -- internals -----------------------------------------------------------------------

    def _layers(self, token_lists: list[list[str]]) -> list[FloatArray]:
        """Every layer of each token list (boundary tokens dropped), in input order."""
        torch = self._torch
        cfg = self.net.cfg
        framed = [[BOUNDARY, *tokens, BOUNDARY] for tokens in token_lists]
        width = max(len(f) for f in framed)
        chars = np.zeros((len(framed), width, cfg.max_chars), dtype=np.int64)
        for row, tokens in enumerate(framed):
            chars[row, : len(tokens)] = char_ids(tokens, cfg.max_chars)
        lengths = torch.tensor([len(f) for f in framed], dtype=torch.long)
        previous = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                layers = self.net.layer_vectors(torch.from_numpy(chars), lengths).numpy()
        finally:
            torch.set_num_threads(previous)
        return [layers[:, i, 1 : len(f) - 1] for i, f in enumerate(framed)]

    def _vectors(
        self, token_lists: list[list[str]], batch_size: int
    ) -> list[tuple[int, FloatArray]]:
        """(index, per-token vectors) for each list, longest first in batches."""
        order = sorted(range(len(token_lists)), key=lambda i: -len(token_lists[i]))
        out: list[tuple[int, FloatArray]] = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            for index, layers in zip(
                batch, self._layers([token_lists[i] for i in batch]), strict=True
            ):
                if self.layer is not None:
                    vectors = layers[self.layer].astype(np.float32)
                else:
                    vectors = mix_layers(layers, self.weights, self.gamma)
                out.append((index, vectors))
        return out


_ESCAPES = re.compile(r"[\t\n\\]")


def _escape(word: str) -> str:
    return _ESCAPES.sub(lambda m: {"\t": "\\t", "\n": "\\n", "\\": "\\\\"}[m.group()], word)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n"}.get(m.group(1), m.group(1)), text)


def _read_vocab(path: Path) -> tuple[list[str], list[int]]:
    words: list[str] = []
    counts: list[int] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").rstrip("\n").split("\n"), 1):
        word, sep, count = line.rpartition("\t")
        if not sep or not count.isdigit():
            raise FormatError("expected 'word<TAB>count'", path=str(path), line=number)
        words.append(_unescape(word))
        counts.append(int(count))
    return words, counts


def _version() -> str:
    from embedlab import __version__

    return __version__
