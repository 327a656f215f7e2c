"""Token windows over inputs longer than a model reads in one pass."""

from __future__ import annotations

from embedlab.errors import InvalidParameterError

__all__ = ["window_spans"]


def window_spans(n: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """Spans ``[start, end)`` of at most ``size`` tokens covering ``range(n)``.

    Consecutive windows share at least ``overlap`` tokens; the last window ends at ``n``
    and is full size (it may overlap its neighbour by more), so no window is a stub.

    Example:
        >>> window_spans(10, 4, 1)
        [(0, 4), (3, 7), (6, 10)]
        >>> window_spans(3, 4, 1)
        [(0, 3)]
    """
    if size < 1 or not 0 <= overlap < size:
        raise InvalidParameterError(
            f"token windows need size >= 1 and 0 <= overlap < size. "
            f"Got size={size}, overlap={overlap}."
        )
    if n <= size:
        return [(0, n)]
    step = size - overlap
    spans = []
    start = 0
    while start + size < n:
        spans.append((start, start + size))
        start += step
    spans.append((n - size, n))
    return spans
