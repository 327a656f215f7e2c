"""OnnxEncoder: the transformer encoder's fast path, run with onnxruntime (CPU).

The first time a model is used this way, its transformer (the Hugging Face model inside
the sentence-transformers model: ``input_ids``, ``attention_mask`` [, ``token_type_ids``]
→ ``last_hidden_state``) is exported with ``torch.onnx.export``, offline, with dynamic
batch and sequence axes; onnxruntime's transformer optimizer fuses attention, GELU and
layer norms, and dynamic int8 quantization makes the fast file. Both files are cached
in ``<cache>/onnx/<model>-<hash of the model files>/``, where ``<cache>`` is
``$EMBEDLAB_CACHE`` or ``~/.cache/embedlab``; later runs load them without torch.
Tokenization, long-input windows, prompts, pooling (the folder's own ``1_Pooling``
config: mean over the attention mask for all-MiniLM-L6-v2) and normalization are the
torch backend's, so the two backends' vectors are comparable: the fp32 file matches
sentence-transformers to cosine ~1, int8 to ~0.998.

Quantization, stated once (recipe 4): weights are int8 per output channel, activations are
quantized at run time with ``quantize_dynamic`` (uint8, one scale per tensor). One scale
per tensor alone loses too much (mean cosine 0.992): the first token ([CLS]) carries
activations ~10x everyone else's in a few channels, which coarsens every other row. So
each feed-forward matrix's input is first divided by its own per-row max |x| (plain
``ReduceMax``/``ReduceMin``/``Div`` nodes) and the product multiplied back by it: exact
in fp32, and the per-tensor int8 scale then acts as one scale per row (per token), while
the product runs as onnxruntime's fast ``DynamicQuantizeMatMul``. The embedding table
stays fp32. onnxruntime's fused ``SkipLayerNormalization`` and ``BiasGelu`` kernels are
slower on CPU than ``Add`` + ``LayerNormalization`` / ``Gelu``, so the int8 file keeps
them unfused and the session turns those two fusions off. Recipe 2 (``MatMulNBits``
feed-forward, per-row-block activations) matched this cosine but ran ~1.3x slower on
256-token windows. Attention runs in an ``If``: a batch without padding (all 256-token
windows of long texts, or texts of one length) takes ``MultiHeadAttention`` without a mask,
which onnxruntime computes with flash attention (~1.3x faster than the masked kernel,
~8% of a window batch), on the same int8 projection; a padded batch runs ``QAttention``
as in recipe 3, so vectors are unchanged but for float noise. An int8 vector depends
slightly on the other texts in its batch (attention inputs share one scale per batch;
cosine > 0.99 between batchings); the same call is deterministic. How a call is cut into
onnxruntime runs, and why several runs go side by side on single-threaded runs, is in
:mod:`embedlab.encoders._onnx_runs`.

The encoder keeps the torch backend's ``name`` (collections built with either backend
can be queried with the other); its ``cache_id`` names the backend, so the embedding
cache never serves int8 vectors for fp32 ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._platform import available_cores
from embedlab._validation import check_int
from embedlab.encoders import _onnx_runs
from embedlab.encoders._loading import ModelFolder, Pooling, locate
from embedlab.encoders._onnx_build import PIP_LINE, RECIPE, ensure_files
from embedlab.encoders._onnx_runs import plan_runs, run_all
from embedlab.encoders._windows import WindowPlanning
from embedlab.encoders.base import EncodeStats
from embedlab.errors import FormatError, InvalidParameterError, MissingDependencyError
from embedlab.metrics import normalize as unit_rows

__all__ = ["OnnxEncoder", "default_cache_dir"]

FloatArray = npt.NDArray[np.float32]
_UNFUSED = ("SkipLayerNormFusion", "BiasGeluFusion")
"""onnxruntime fusions the session turns off: the unfused kernels are faster on CPU."""
_WEIGHTS = re.compile(r".*\.(safetensors|bin)$|config\.json$")


def default_cache_dir() -> Path:
    """``$EMBEDLAB_CACHE/onnx``, else ``~/.cache/embedlab/onnx``.

    Example:
        >>> default_cache_dir().name
        'onnx'
    """
    root = os.environ.get("EMBEDLAB_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "embedlab") / "onnx"


def import_onnxruntime() -> Any:
    """Import onnxruntime, or say which pip line installs it."""
    try:
        import onnxruntime  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingDependencyError(
            f"the onnx backend needs onnxruntime and onnx ({exc.name or 'onnxruntime'} is "
            f"missing); install them with: {PIP_LINE}"
        ) from exc
    return onnxruntime


@dataclass(frozen=True)
class _Head:
    """What turns token vectors into a text vector: pooling, prompt tokens, normalization."""

    pooling: Pooling
    include_prompt: bool
    normalize: bool


class OnnxEncoder(WindowPlanning):
    """Encode texts with a transformer model exported to ONNX, int8 by default.

    Args:
        model: a registered name (``"minilm"``) or a local sentence-transformers or
            Hugging Face model folder.
        quantize: run the dynamic int8 file (default); ``False`` runs the fp32 export.
        threads: cores to use (default: every core this process may use): a call of
            several onnxruntime runs (more texts than ``batch_size``, or long texts) runs
            this many side by side, one thread each; a call of one run gives it this many
            intra-op threads.
        cache_dir: where exported files live (default: :func:`default_cache_dir`).
        pooling, query_prompt, passage_prompt, truncate, overlap, name: as for
            :class:`~embedlab.encoders.TransformerEncoder`.

    Example:
        >>> enc = OnnxEncoder("minilm")  # doctest: +SKIP
        >>> enc.encode(["the river bank", "a loan"], normalize=True).shape  # doctest: +SKIP
        (2, 384)
        >>> enc.export_seconds  # 0.0 once the export is cached  # doctest: +SKIP
        0.0
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = "minilm",
        *,
        quantize: bool = True,
        threads: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        pooling: Pooling | str | None = None,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        truncate: bool = False,
        overlap: int = 32,
        name: str | None = None,
    ) -> None:
        ort = import_onnxruntime()
        folder = locate(model)
        mode = None if pooling is None else Pooling.parse(pooling, name="pooling")
        self._head = _read_head(folder, mode)
        if threads is None:
            threads = available_cores()
        self.threads = check_int("threads", threads)
        self.quantize = bool(quantize)
        self.truncate = bool(truncate)
        config = _read_json(folder.path / "config.json")
        self._dim = int(config.get("hidden_size") or config.get("dim") or 0)
        if self._dim < 1:
            raise FormatError("config.json names no hidden_size", path=str(folder.path))
        self._tokenizer = _load_tokenizer(folder)
        self._token_types = "token_type_ids" in getattr(self._tokenizer, "model_input_names", ())
        self._max_tokens = _max_tokens(folder, config, self._tokenizer)
        self._prefix, self._suffix = self._special_frame()
        room = self._max_tokens - len(self._prefix) - len(self._suffix)
        self.overlap = check_int("overlap", overlap, minimum=0, maximum=max(0, room // 2))
        st_config = _read_json(folder.path / "config_sentence_transformers.json")
        self._set_prompts(
            query_prompt,
            passage_prompt,
            dict(st_config.get("prompts") or {}),
            st_config.get("default_prompt_name"),
        )
        suffix = f":{self._head.pooling.value}" if folder.kind == "hf" else ""
        self.name: str = name if name is not None else folder.name + suffix
        self.path = folder.path

        base = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.cache_folder = base / f"{_slug(folder.name)}-{_model_hash(folder, self._token_types)}"
        start = time.perf_counter()
        self.model_file, built = ensure_files(
            folder, mode, self.cache_folder, self._token_types, quantize
        )
        self.export_seconds = time.perf_counter() - start if built else 0.0
        """Seconds this construction spent exporting and quantizing (0.0: all cached)."""
        self._ort = ort
        self._session = self._open_session(self.threads)
        self._solo: Any = None  # the single-threaded session for runs side by side, when needed
        self._solo_lock = threading.Lock()
        self._parallel = True
        """Whether wide runs may go side by side (see ``_onnx_runs``; off for A/B tests)."""
        self.last_stats = EncodeStats(texts=0, sequences=0, truncated=0, split=0, seconds=0.0)
        """What the latest :meth:`encode` call did (inputs truncated or split, timing)."""

    # -- the Encoder protocol ------------------------------------------------------------

    @property
    def dim(self) -> int:
        """Number of dimensions of a text vector."""
        return self._dim

    @property
    def max_tokens(self) -> int:
        """The longest sequence the model reads in one pass, special tokens included."""
        return self._max_tokens

    @property
    def cache_id(self) -> str:
        """The name, the backend and the options that change vectors (a cache key)."""
        mode = "truncate" if self.truncate else f"windows{self.overlap}"
        kind = "onnx-int8" if self.quantize else "onnx-fp32"
        return f"{self.name}|{kind}|{self._max_tokens}|{mode}"

    def __repr__(self) -> str:
        kind = "int8" if self.quantize else "fp32"
        return f"OnnxEncoder({self.name!r}, {kind}, dim={self.dim}, threads={self.threads})"

    # -- internals (the torch backend's planning, so both backends cut texts alike) -----

    def _embed(
        self, sequences: list[list[int]], batch_size: int, show_progress: bool, prompt: str
    ) -> FloatArray:
        """Pooled (and, per the model, normalized) vectors of id sequences, in input order."""
        out = np.empty((len(sequences), self._dim), dtype=np.float32)
        pad = self._tokenizer.pad_token_id or 0
        skip = len(self._prefix) + len(self._ids([prompt])[0]) if prompt else 0
        workers = self.threads if self._parallel else 1
        runs = plan_runs([len(s) for s in sequences], batch_size)  # narrowest first
        wide = sum(len(sequences[run[-1]]) >= _onnx_runs.SIDE_BY_SIDE_FROM for run in runs)
        # two or more (wide) runs: side by side, one thread each; else every thread on each
        solo = self._single_threaded() if workers > 1 and wide > 1 else self._session

        def work(run: list[int], side_by_side: bool) -> None:
            session = solo if side_by_side else self._session
            out[run] = self._run(session, [sequences[i] for i in run], pad, skip)

        run_all(runs, work, workers, len(runs) - wide, show_progress)
        return out

    def _run(self, session: Any, rows: list[list[int]], pad: int, skip: int) -> FloatArray:
        """One onnxruntime run: the pooled vectors of id sequences sorted by length."""
        width = len(rows[-1])
        ids = np.full((len(rows), width), pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, sequence in enumerate(rows):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self._token_types:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = session.run(["last_hidden_state"], feeds)
        if skip and not self._head.include_prompt:
            mask[:, :skip] = 0
        return _pool(np.asarray(hidden, dtype=np.float32), mask, self._head)

    def _open_session(self, threads: int) -> Any:
        """An onnxruntime session on the model file with ``threads`` intra-op threads."""
        options = self._ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return self._ort.InferenceSession(
            str(self.model_file),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=list(_UNFUSED),  # see the module docstring
        )

    def _single_threaded(self) -> Any:
        """The single-threaded session that runs side by side share, opened on first use."""
        with self._solo_lock:
            if self._solo is None:
                self._solo = self._open_session(1)
            return self._solo


def _pool(hidden: FloatArray, mask: npt.NDArray[np.int64], head: _Head) -> FloatArray:
    """sentence-transformers' pooling of one batch of token vectors (and its Normalize)."""
    if head.pooling is Pooling.CLS:
        vectors = hidden[:, 0]
    elif head.pooling is Pooling.MAX:
        vectors = np.where(mask[:, :, None] > 0, hidden, np.float32(-1e9)).max(axis=1)
    else:
        weights = mask[:, :, None].astype(np.float32)
        vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    vectors = vectors.astype(np.float32, copy=False)
    return unit_rows(vectors) if head.normalize else vectors


# -- reading the model folder ------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file, or {} when the file is not there."""
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"not a readable JSON file: {exc}", path=str(path)) from exc
    if not isinstance(value, dict):
        raise FormatError("expected a JSON object", path=str(path))
    return value


def _read_head(folder: ModelFolder, mode: Pooling | None) -> _Head:
    """Pooling and normalization from a sentence-transformers folder's modules.json."""
    if folder.kind == "hf":
        return _Head(mode or Pooling.MEAN, include_prompt=True, normalize=False)
    if mode is not None:
        raise InvalidParameterError(
            f"The 'pooling' parameter applies to plain Hugging Face model folders; "
            f"{folder.name!r} is a sentence-transformers model with its own pooling. "
            f"Got pooling={mode.value!r}."
        )
    modules = json.loads((folder.path / "modules.json").read_text(encoding="utf-8"))
    pooling, include_prompt, normalize = Pooling.MEAN, True, False
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        if kind == "Pooling":
            config = _read_json(folder.path / module.get("path", "") / "config.json")
            pooling = _pooling_mode(config, folder)
            include_prompt = bool(config.get("include_prompt", True))
        elif kind == "Normalize":
            normalize = True
        elif kind != "Transformer":
            raise InvalidParameterError(
                f"the onnx backend runs Transformer, Pooling and Normalize modules; "
                f"{str(folder.path)!r} also has {module.get('type')!r}: use backend='torch'"
            )
    return _Head(pooling, include_prompt, normalize)


def _pooling_mode(config: dict[str, Any], folder: ModelFolder) -> Pooling:
    """The one pooling mode a Pooling config turns on (mean, cls or max)."""
    if isinstance(config.get("pooling_mode"), str):
        modes = [config["pooling_mode"]]
    else:
        modes = [k[len("pooling_mode_") :] for k, v in config.items() if k.startswith("pool") and v]
    names = {"mean_tokens": "mean", "cls_token": "cls", "max_tokens": "max"}
    picked = [names.get(m, m) for m in modes]
    if len(picked) != 1 or picked[0] not in {p.value for p in Pooling}:
        raise InvalidParameterError(
            f"the onnx backend pools with one of mean, cls or max; {str(folder.path)!r} "
            f"asks for {picked or 'none'}: use backend='torch'"
        )
    return Pooling(picked[0])


def _load_tokenizer(folder: ModelFolder) -> Any:
    """The folder's Hugging Face tokenizer (no torch needed), offline."""
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise MissingDependencyError(
            f"the onnx backend tokenizes with transformers ({exc.name} is missing); "
            f"install it with: {PIP_LINE}"
        ) from exc
    return AutoTokenizer.from_pretrained(str(folder.path), local_files_only=True)


def _max_tokens(folder: ModelFolder, config: dict[str, Any], tokenizer: Any) -> int:
    """The longest input, as the torch backend reads it: ST's max_seq_length, capped."""
    limit = _read_json(folder.path / "sentence_bert_config.json").get("max_seq_length")
    limit = limit or getattr(tokenizer, "model_max_length", None)
    positions = config.get("max_position_embeddings")
    if limit is None or limit > 100_000:  # tokenizers report a huge sentinel for "none"
        limit = positions or 512
    if positions and limit > positions:
        limit = positions
    return int(limit)


def _slug(name: str) -> str:
    """A model name made safe for a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"


def _model_hash(folder: ModelFolder, token_types: bool) -> str:
    """sha256 of the config and weight files (and the recipe), 16 hex digits."""
    digest = hashlib.sha256(f"recipe={RECIPE};token_types={token_types}".encode())
    for path in sorted(folder.path.iterdir()):
        if path.is_file() and _WEIGHTS.match(path.name):
            digest.update(path.name.encode())
            with path.open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()[:16]
