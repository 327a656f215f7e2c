"""The model a server embeds with: token counts, windows, and the ``dimensions`` rule.

OpenAI's embeddings are unit vectors, so these are too. ``dimensions`` equal to the
model's own is always accepted; a smaller one only for a model declared as trained for
Matryoshka truncation (the first ``dimensions`` components, renormalised); anything else
is refused, never answered with another size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab.encoders.base import Encoder
from embedlab.encoders.compression import truncate_matryoshka
from embedlab.errors import InvalidParameterError

__all__ = ["ServedModel"]

Vectors = npt.NDArray[np.float32]


@dataclass
class ServedModel:
    """An encoder under the name clients ask for.

    Example:
        >>> import numpy as np, embedlab
        >>> from embedlab.encoders.static import StaticEncoder
        >>> wv = embedlab.WordVectors(["a", "b"], np.eye(2))
        >>> served = ServedModel("toy", StaticEncoder(wv, name="toy"))
        >>> served.encode_texts(["a"]).tolist(), served.count_tokens(["a b a"])
        ([[1.0, 0.0]], [3])
    """

    name: str
    encoder: Encoder
    matryoshka: bool = False

    @property
    def dim(self) -> int:
        return self.encoder.dim

    @property
    def window(self) -> int | None:
        """Text tokens read in one pass (longer inputs are split into pooled windows)."""
        room = getattr(self.encoder, "tokens_per_window", None)
        return room if isinstance(room, int) else self.encoder.max_tokens

    @property
    def takes_token_ids(self) -> bool:
        return callable(getattr(self.encoder, "encode_ids", None))

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text by the model's tokenizer (words for models without one)."""
        counter = getattr(self.encoder, "count_tokens", None)
        if callable(counter):
            return [int(counter(text)) for text in texts]
        return [len(text.split()) for text in texts]

    def check_token_ids(self, inputs: Sequence[Sequence[int]]) -> None:
        """Refuse token input for a model without a tokenizer."""
        if not self.takes_token_ids:
            raise InvalidParameterError(
                f"model {self.name!r} takes text only; send strings as 'input', not token ids"
            )
        for i, ids in enumerate(inputs):
            if not ids:
                raise InvalidParameterError(f"input[{i}] is an empty list of token ids")

    def check_dimensions(self, dimensions: int | None) -> int:
        """The output size for a request's ``dimensions`` (None: the model's own)."""
        if dimensions is None or dimensions == self.dim:
            return self.dim
        if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1:
            raise InvalidParameterError(f"dimensions must be a positive int; got {dimensions!r}")
        if not self.matryoshka:
            raise InvalidParameterError(
                f"model {self.name!r} was not trained for Matryoshka truncation, so it "
                f"answers only with its own {self.dim} dimensions; got dimensions={dimensions}"
            )
        if dimensions > self.dim:
            raise InvalidParameterError(
                f"model {self.name!r} has {self.dim} dimensions; got dimensions={dimensions}"
            )
        return dimensions

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors of texts (long ones as the mean of their windows)."""
        return self.encoder.encode(list(texts), normalize=True)

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors of search queries (with the model's query prompt, if it has one)."""
        encode = getattr(self.encoder, "encode_queries", None)
        if callable(encode):
            out: Vectors = encode(list(texts), normalize=True)
            return out
        return self.encode_texts(texts)

    def encode_token_ids(self, inputs: Sequence[Sequence[int]]) -> Vectors:
        """Unit vectors of inputs given as the model's token ids."""
        encode: Any = getattr(self.encoder, "encode_ids")  # noqa: B009 - checked before
        out: Vectors = encode([list(ids) for ids in inputs], normalize=True)
        return out

    def shape(self, vectors: Vectors, dimensions: int) -> Vectors:
        """Vectors at the size asked for (Matryoshka-truncated and renormalised)."""
        if dimensions == self.dim:
            return vectors
        out: Vectors = truncate_matryoshka(vectors, dimensions, renormalize=True)
        return out
