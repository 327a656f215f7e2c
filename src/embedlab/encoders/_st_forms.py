"""sentence-transformers' ``encode`` arguments, read once into embedlab's.

``model.encode("one text")`` gives one vector and ``model.encode([...])`` a matrix, as
sentence-transformers does; its keyword names (``normalize_embeddings``,
``show_progress_bar``, ``convert_to_numpy`` / ``convert_to_tensor``, ``prompt_name``,
``precision``, ``truncate_dim``, ``device``) are accepted next to embedlab's own, and
what embedlab does not do is a typed error naming the option. :class:`SentenceHabits`
adds ``encode_query`` / ``encode_document`` / ``similarity`` to the transformer encoders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.errors import InvalidParameterError, UnsupportedOptionError
from embedlab.metrics import normalize

__all__ = ["EncodeForm", "SentenceHabits", "read_form", "shape_output"]

_KNOWN = frozenset(
    {
        "normalize_embeddings",
        "show_progress_bar",
        "convert_to_numpy",
        "convert_to_tensor",
        "prompt_name",
        "precision",
        "truncate_dim",
        "device",
        "output_value",
    }
)


@dataclass(frozen=True)
class EncodeForm:
    """One ``encode`` call's arguments in embedlab's terms."""

    texts: object
    single: bool
    normalize: bool
    show_progress: bool
    prompt: str | None
    truncate_dim: int | None
    output: str  # "numpy", "tensor" or "list"


def read_form(
    texts: object,
    *,
    normalize: bool,
    show_progress: bool,
    prompt: str | None,
    prompts: Mapping[str, str],
    options: Mapping[str, Any],
) -> EncodeForm:
    """Normalise embedlab's and sentence-transformers' ``encode`` arguments (see module doc).

    Example:
        >>> form = read_form("hi", normalize=False, show_progress=False, prompt=None,
        ...                  prompts={"query": "q: "}, options={"prompt_name": "query"})
        >>> form.texts, form.single, form.prompt
        (['hi'], True, 'q: ')
    """
    unknown = sorted(set(options) - _KNOWN)
    if unknown:
        raise InvalidParameterError(
            f"encode() got an unknown option {unknown[0]!r}; embedlab's are batch_size, "
            "normalize, show_progress, prompt (sentence-transformers' names work too: "
            f"{', '.join(sorted(_KNOWN))})"
        )
    single = isinstance(texts, str)
    normalize = bool(options.get("normalize_embeddings", normalize))
    show = options.get("show_progress_bar")
    show_progress = bool(show_progress if show is None else show)
    name = options.get("prompt_name")
    if name is not None:
        if prompt is not None:
            raise InvalidParameterError("give prompt or prompt_name, not both")
        if name not in prompts:
            known = ", ".join(repr(k) for k in sorted(prompts)) or "none"
            raise InvalidParameterError(
                f"The 'prompt_name' parameter must name one of this model's prompts ({known}). "
                f"Got {name!r}."
            )
        prompt = prompts[name]
    precision = options.get("precision", "float32")
    if precision != "float32":
        raise UnsupportedOptionError(
            f"precision={precision!r} is not supported here; vectors come as float32 "
            "(quantise them with embedlab.encoders.compression)"
        )
    if options.get("output_value", "sentence_embedding") != "sentence_embedding":
        raise UnsupportedOptionError(
            f"output_value={options['output_value']!r} is not supported; for token vectors "
            "use encoder.encode_tokens(text)"
        )
    if options.get("device") not in (None, "cpu"):
        raise UnsupportedOptionError(
            f"device={options['device']!r} per call is not supported; choose the device "
            "when building the encoder"
        )
    truncate_dim = options.get("truncate_dim")
    if truncate_dim is not None:
        truncate_dim = check_int("truncate_dim", truncate_dim)
    output = "numpy"
    if options.get("convert_to_tensor"):
        output = "tensor"
    elif options.get("convert_to_numpy", True) is False:
        output = "list"
    return EncodeForm(
        texts=[texts] if single else texts,
        single=single,
        normalize=normalize,
        show_progress=show_progress,
        prompt=prompt,
        truncate_dim=truncate_dim,
        output=output,
    )


def shape_output(form: EncodeForm, rows: npt.NDArray[np.float32], dim: int) -> Any:
    """The call's answer: truncated to ``truncate_dim`` (then normalised if asked), one
    row for one text, and as numpy (default), a torch tensor, or a list of tensors."""
    if form.truncate_dim is not None:
        if form.truncate_dim > dim:
            raise InvalidParameterError(
                f"The 'truncate_dim' parameter must be at most the model's dim ({dim}). "
                f"Got {form.truncate_dim}."
            )
        rows = np.ascontiguousarray(rows[:, : form.truncate_dim])
        if form.normalize:
            rows = normalize(rows)
    out: Any = rows[0] if form.single else rows
    if form.output == "numpy":
        return out
    try:
        import torch
    except ImportError:  # pragma: no cover - torch comes with the transformers extra
        raise UnsupportedOptionError(
            "convert_to_tensor / convert_to_numpy=False need torch; install it with "
            "pip install 'embedlab[transformers]'"
        ) from None
    if form.output == "tensor":
        return torch.from_numpy(np.ascontiguousarray(out))
    return [torch.from_numpy(row.copy()) for row in np.atleast_2d(out)]


class SentenceHabits:
    """``encode_query``, ``encode_document``, ``similarity`` and friends, as
    sentence-transformers names them, for an encoder with ``encode`` and prompts."""

    query_prompt: str | None
    passage_prompt: str | None
    similarity_fn_name = "cosine"

    def encode(self, texts: Any, **options: Any) -> Any:  # pragma: no cover - the host's
        raise NotImplementedError

    @property
    def dim(self) -> int:  # pragma: no cover - the host's
        raise NotImplementedError

    def encode_query(self, sentences: str | Sequence[str], **options: Any) -> Any:
        """``encode`` with the query prompt (sentence-transformers' ``encode_query``)."""
        options.setdefault("prompt", self.query_prompt or "")
        return self.encode(sentences, **options)

    def encode_document(self, sentences: str | Sequence[str], **options: Any) -> Any:
        """``encode`` with the document prompt (sentence-transformers' ``encode_document``)."""
        options.setdefault("prompt", self.passage_prompt or "")
        return self.encode(sentences, **options)

    def get_sentence_embedding_dimension(self) -> int:
        """The vector size (sentence-transformers' name for :attr:`dim`)."""
        return self.dim

    def similarity(self, a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Cosine similarity of every row of a with every row of b: shape ``(len(a), len(b))``.

        Accepts numpy arrays or torch tensors (one vector or a matrix each); answers numpy.

        Example:
            >>> SentenceHabits().similarity([[1.0, 0.0]], [[1.0, 0.0], [0.0, 2.0]]).tolist()
            [[1.0, 0.0]]
        """
        left, right = _matrix(a, "a"), _matrix(b, "b")
        if left.shape[1] != right.shape[1]:
            raise InvalidParameterError(
                f"similarity needs vectors of one size; got {left.shape[1]} and {right.shape[1]}"
            )
        out: npt.NDArray[np.float32] = normalize(left) @ normalize(right).T
        return out

    def similarity_pairwise(self, a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Cosine of row i of a with row i of b, for each i."""
        left, right = _matrix(a, "a"), _matrix(b, "b")
        if left.shape != right.shape:
            raise InvalidParameterError(
                f"similarity_pairwise needs two arrays of one shape; got {left.shape} and "
                f"{right.shape}"
            )
        out: npt.NDArray[np.float32] = (normalize(left) * normalize(right)).sum(axis=1)
        return out


def _matrix(value: object, name: str) -> npt.NDArray[np.float32]:
    """A float32 matrix from an array, a tensor or nested lists (one vector: one row)."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, list) and value and hasattr(value[0], "detach"):
        value = np.stack([v.detach().cpu().numpy() for v in value])
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"{name} must be vectors (numbers); got {value!r:.60}"
        ) from None
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise InvalidParameterError(
            f"{name} must be one vector or a matrix; got shape {array.shape}"
        )
    return array
