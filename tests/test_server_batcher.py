"""The micro-batcher's length groups: a batch reaches the model as groups of inputs of
similar length (padding every input to the batch's longest made batching slower than no
batching on ONNX int8), and every request still gets exactly its own vectors."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import pytest

import embedlab
from embedlab.encoders.static import StaticEncoder
from embedlab.server.batcher import MicroBatcher, length_groups
from embedlab.server.served import ServedModel


class RecordingModel(ServedModel):
    """A real static model that also notes the texts of each model call."""

    calls: list[list[str]]

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return super().encode_texts(texts)


def _model() -> RecordingModel:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(200)]
    served = RecordingModel(
        "toy", StaticEncoder(embedlab.WordVectors(words, rng.normal(size=(200, 8))))
    )
    served.calls = []
    return served


@pytest.mark.parametrize("seed", range(5))
def test_groups_cover_every_input_once_with_bounded_padding(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lengths = [int(n) for n in rng.integers(1, 120, size=int(rng.integers(1, 60)))]
    groups = length_groups(lengths, padding=0.25)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for group in groups:
        costs = [lengths[i] + 2 for i in group]
        assert len(costs) * max(costs) <= 1.25 * sum(costs) + 1e-9
    assert length_groups([5, 5, 5, 6]) == [[0, 1, 2, 3]]  # similar lengths stay one call


def test_an_input_longer_than_the_window_counts_as_full_windows() -> None:
    """A 1,200-token text is read as 5 rows of 253 tokens: a short text beside it wastes
    little padding, so both stay in one model call (not two calls, each paying the
    model's fixed cost)."""
    assert length_groups([1, 1200], window=253) == [[0, 1]]
    assert length_groups([1, 1200]) == [[0], [1]]  # without the window they would split


def test_a_batch_of_short_and_long_texts_is_encoded_in_length_groups() -> None:
    served = _model()
    short = [f"w{i}" for i in range(6)]
    long = [" ".join(f"w{(i * 7 + j) % 200}" for j in range(80)) for i in range(3)]
    requests = [[short[0], long[0]], [short[1]], [long[1], short[2], short[3]], [long[2]]]

    async def run() -> list[np.ndarray]:
        batcher = MicroBatcher(served, wait_ms=50)
        await batcher.start()
        try:
            return await asyncio.gather(
                *(
                    batcher.encode(texts, lengths=[len(t.split()) for t in texts])
                    for texts in requests
                )
            )
        finally:
            await batcher.stop()

    answers = asyncio.run(run())
    for texts, got in zip(requests, answers, strict=True):
        np.testing.assert_allclose(got, served.encode_texts(texts), atol=1e-6)
    model_calls = served.calls[: -len(requests)]  # the reference encodes above came last
    assert sorted(len(call) for call in model_calls) == [3, 4]  # long ones apart from short
    for call in model_calls:
        assert len({len(text.split()) for text in call}) == 1
