"""What differs between platforms: code paths that must not assume Linux."""

from __future__ import annotations

import os

import pytest

from embedlab._platform import available_cores
from embedlab.train import Word2Vec


def test_default_threads_without_sched_getaffinity(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and Windows have no os.sched_getaffinity: the default thread count still works."""
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert available_cores() == max(1, os.cpu_count() or 1)
    trainer = Word2Vec(dim=8, epochs=1, min_count=1)
    assert trainer.params.resolved_threads == available_cores()
    model = trainer.train(["a b c a b"] * 20)
    assert "a" in model
