"""The ELMo-style network: character CNN token inputs, forward and backward LSTM LMs.

Shared by the trainer (:mod:`embedlab.train.bilm`) and the encoder
(:mod:`embedlab.encoders.bilm`); it knows nothing of corpora or files beyond its own
weights.

- **Inputs** are the UTF-8 bytes of each token (so no word is out of vocabulary), framed by
  begin- and end-of-word marks and cut or padded to ``max_chars``; a line boundary is one
  more token with its own mark. A char CNN (widths 1..5, max over time, one highway layer,
  a projection to ``dim``) makes the context-free token vector: layer 0.
- **Two LMs**: ``layers`` stacked LSTMs (``hidden`` units, their outputs projected to
  ``dim`` when hidden differs; residual between layers as in ELMo; no recurrent projection,
  which torch runs ~2x slower on CPU because oneDNN lacks it) read left to right and
  predict the next token, and as many read right to left and predict the previous one.
  Both share the token CNN and the output softmax over a word vocabulary (``<unk>`` for
  the rest), trained as a sampled softmax (the full softmax over 10k words was ~60% of a
  step's time on CPU).
- **Layer j** of a token is ``[forward_j; backward_j]`` (2 x dim; layer 0 is the token
  vector twice). ELMo's mix is ``gamma * sum_j softmax(w)_j * layer_j``; equal w is the
  fixed average.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "BOUNDARY",
    "BiLMNet",
    "NetConfig",
    "ScalarMix",
    "char_ids",
    "mix_layers",
]

PAD, BOW, EOW, BOUNDARY_MARK = 0, 1, 2, 3
_BYTE_OFFSET = 4
N_CHARS = 256 + _BYTE_OFFSET
BOUNDARY = "\x00<b>"
"""The token that stands for a line boundary (inputs and targets)."""


@dataclass(frozen=True)
class NetConfig:
    """The network's shape; saved in config.json under "net"."""

    vocab_size: int
    dim: int = 128
    hidden: int = 512
    layers: int = 2
    max_chars: int = 20
    char_dim: int = 16
    filters: tuple[tuple[int, int], ...] = ((1, 32), (2, 32), (3, 64), (4, 128), (5, 128))
    dropout: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        d = asdict(self)
        d["filters"] = [list(f) for f in self.filters]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetConfig:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["filters"] = tuple((int(w), int(n)) for w, n in d["filters"])
        return cls(**d)


def char_ids(tokens: Sequence[str], max_chars: int) -> np.ndarray:
    """int64 array (len(tokens), max_chars): [BOW, bytes..., EOW, PAD...] per token.

    Example:
        >>> char_ids(["ab"], 5).tolist()
        [[1, 101, 102, 2, 0]]
    """
    out = np.zeros((len(tokens), max_chars), dtype=np.int64)
    room = max_chars - 2
    for i, token in enumerate(tokens):
        if token == BOUNDARY:
            out[i, :3] = (BOW, BOUNDARY_MARK, EOW)
            continue
        data = np.frombuffer(token.encode("utf-8")[:room], dtype=np.uint8)
        out[i, 0] = BOW
        out[i, 1 : 1 + len(data)] = data.astype(np.int64) + _BYTE_OFFSET
        out[i, 1 + len(data)] = EOW
    return out


class _CharCNN(nn.Module):
    """Token bytes -> a context-free token vector of size dim."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(N_CHARS, cfg.char_dim, padding_idx=PAD)
        self.convs = nn.ModuleList(
            nn.Conv1d(cfg.char_dim, n, kernel_size=w) for w, n in cfg.filters
        )
        width = sum(n for _, n in cfg.filters)
        self.highway = nn.Linear(width, 2 * width)
        self.proj = nn.Linear(width, cfg.dim)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        batch, steps, n_chars = chars.shape
        x = self.embed(chars.view(batch * steps, n_chars)).transpose(1, 2)
        pooled = [torch.relu(conv(x)).max(dim=2).values for conv in self.convs]
        h = torch.cat(pooled, dim=1)
        transform, gate = self.highway(h).chunk(2, dim=1)
        g = torch.sigmoid(gate)
        h = g * torch.relu(transform) + (1 - g) * h
        out: torch.Tensor = self.proj(h).view(batch, steps, -1)
        return out


def _reverse(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first lengths[b] steps in time (padding stays at the end)."""
    steps = x.shape[1]
    t = torch.arange(steps, device=x.device).unsqueeze(0)
    idx = torch.where(t < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - t, t)
    return x.gather(1, idx.unsqueeze(2).expand_as(x))


class BiLMNet(nn.Module):
    """Char-CNN token vectors, forward and backward LSTM stacks, one shared softmax."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.chars = _CharCNN(cfg)

        def stack() -> nn.ModuleList:
            return nn.ModuleList(
                nn.LSTM(cfg.dim, cfg.hidden, batch_first=True) for _ in range(cfg.layers)
            )

        def projections() -> nn.ModuleList:
            return nn.ModuleList(
                nn.Linear(cfg.hidden, cfg.dim) if cfg.hidden != cfg.dim else nn.Identity()
                for _ in range(cfg.layers)
            )

        self.forward_lstm = stack()
        self.backward_lstm = stack()
        self.forward_proj = projections()
        self.backward_proj = projections()
        self.drop = nn.Dropout(cfg.dropout)
        self.softmax = nn.Linear(cfg.dim, cfg.vocab_size)

    def _run(
        self, lstms: nn.ModuleList, projs: nn.ModuleList, x: torch.Tensor
    ) -> list[torch.Tensor]:
        """Each LSTM layer's output, projected to dim (residual from the second layer on)."""
        outs = []
        h = x
        for i, (lstm, proj) in enumerate(zip(lstms, projs, strict=True)):
            y = proj(lstm(self.drop(h))[0])
            h = y + h if i > 0 else y
            outs.append(h)
        return outs

    def states(
        self, chars: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """(token vectors, forward layers, backward layers), each (batch, steps, dim).

        Rows are right-padded; ``lengths`` gives each row's real length.
        """
        x = self.chars(chars)
        fwd = self._run(self.forward_lstm, self.forward_proj, x)
        back = self._run(self.backward_lstm, self.backward_proj, _reverse(x, lengths))
        bwd = [_reverse(h, lengths) for h in back]
        return x, fwd, bwd

    def loss(
        self,
        chars: torch.Tensor,
        targets: torch.Tensor,
        *,
        sampled: torch.Tensor | None = None,
        log_q: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean cross-entropy of both LMs over a batch of full windows (batch, steps).

        With ``sampled`` (word ids drawn with probabilities ``exp(log_q)``, with
        replacement) the softmax runs over the true word and the sampled ones only, each
        logit less ``log(expected count)`` (Jean et al. 2015's sampled softmax); without,
        over the whole vocabulary.
        """
        batch, steps = targets.shape
        lengths = torch.full((batch,), steps, dtype=torch.long)
        _, fwd, bwd = self.states(chars, lengths)
        f = self.drop(fwd[-1][:, :-1])
        b = self.drop(bwd[-1][:, 1:])
        h = torch.cat([f, b], dim=0).reshape(-1, self.cfg.dim)
        gold = torch.cat([targets[:, 1:], targets[:, :-1]], dim=0).reshape(-1)
        if sampled is None or log_q is None:
            return nn.functional.cross_entropy(self.softmax(h), gold)
        weight, bias = self.softmax.weight, self.softmax.bias
        correction = torch.log(torch.tensor(float(len(sampled)))) + log_q
        true_logit = (h * weight[gold]).sum(dim=1) + bias[gold] - correction[gold]
        sample_logits = h @ weight[sampled].T + bias[sampled] - correction[sampled]
        sample_logits = sample_logits.masked_fill(gold.unsqueeze(1) == sampled, -1e4)
        logits = torch.cat([true_logit.unsqueeze(1), sample_logits], dim=1)
        return nn.functional.cross_entropy(logits, torch.zeros_like(gold))

    def layer_vectors(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """All layers of every token: (layers + 1, batch, steps, 2 x dim)."""
        x, fwd, bwd = self.states(chars, lengths)
        layers = [torch.cat([x, x], dim=2)]
        layers += [torch.cat([f, b], dim=2) for f, b in zip(fwd, bwd, strict=True)]
        return torch.stack(layers)


class ScalarMix(nn.Module):
    """ELMo's learned mix: gamma * sum_j softmax(w)_j * layer_j (train it on a task).

    Example:
        >>> mix = ScalarMix(3)
        >>> mix(torch.ones(3, 1, 2, 4)).shape
        torch.Size([1, 2, 4])
    """

    def __init__(self, n_layers: int, weights: Sequence[float] | None = None, gamma: float = 1.0):
        super().__init__()
        w = torch.zeros(n_layers) if weights is None else torch.tensor(list(weights))
        self.weights = nn.Parameter(w.float())
        self.gamma = nn.Parameter(torch.tensor(float(gamma)))

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        s = torch.softmax(self.weights, dim=0).view(-1, *([1] * (layers.dim() - 1)))
        out: torch.Tensor = self.gamma * (s * layers).sum(dim=0)
        return out


def mix_layers(layers: np.ndarray, weights: np.ndarray, gamma: float) -> np.ndarray:
    """numpy twin of :class:`ScalarMix` for inference: layers (L, ..., d) -> (..., d).

    Example:
        >>> mix_layers(np.ones((2, 3), np.float32), np.zeros(2), 1.0).tolist()
        [1.0, 1.0, 1.0]
    """
    s = np.exp(weights - weights.max())
    s = s / s.sum()
    out: np.ndarray = (gamma * np.tensordot(s, layers, axes=1)).astype(np.float32)
    return out
