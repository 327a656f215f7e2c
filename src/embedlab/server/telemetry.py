"""Counters and histograms for ``GET /metrics``, written as Prometheus text (format 0.0.4).

Kept in-process and tiny on purpose (no client library): requests by route and status,
request latencies, micro-batch sizes, the encode queue's depth, and collection sizes
(read from the database when scraped).
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable

__all__ = ["Histogram", "Telemetry"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Histogram:
    """Cumulative buckets, a sum and a count (one label set)."""

    def __init__(self, buckets: Iterable[float]) -> None:
        self.bounds = tuple(buckets)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.n += 1

    def lines(self, name: str, labels: str) -> list[str]:
        out = []
        running = 0
        sep = "," if labels else ""
        for bound, count in zip(self.bounds, self.counts, strict=False):
            running += count
            out.append(f'{name}_bucket{{{labels}{sep}le="{bound:g}"}} {running}')
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.n}')
        suffix = f"{{{labels}}}" if labels else ""
        out.append(f"{name}_sum{suffix} {self.total:.6f}")
        out.append(f"{name}_count{suffix} {self.n}")
        return out


class Telemetry:
    """What ``/metrics`` reports; thread-safe.

    Example:
        >>> t = Telemetry()
        >>> t.request("POST", "/v1/embeddings", 200, 0.004)
        >>> print(t.render().splitlines()[2])
        embedlab_requests_total{method="POST",route="/v1/embeddings",status="200"} 1
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._latency: dict[str, Histogram] = {}
        self._batches = Histogram(_BATCH_BUCKETS)
        self._inputs = 0
        self.queue_depth: Callable[[], int] = lambda: 0
        self.collection_sizes: Callable[[], dict[str, int]] = dict

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, str(status))] += 1
            hist = self._latency.get(route)
            if hist is None:
                hist = self._latency[route] = Histogram(_LATENCY_BUCKETS)
            hist.observe(seconds)

    def batch(self, inputs: int) -> None:
        with self._lock:
            self._batches.observe(inputs)
            self._inputs += inputs

    def render(self) -> str:
        """The Prometheus text exposition of everything recorded."""
        with self._lock:
            lines = [
                "# HELP embedlab_requests_total HTTP requests answered.",
                "# TYPE embedlab_requests_total counter",
            ]
            for (method, route, status), n in sorted(self._requests.items()):
                labels = f'method="{method}",route="{_escape(route)}",status="{status}"'
                lines.append(f"embedlab_requests_total{{{labels}}} {n}")
            lines += [
                "# HELP embedlab_request_seconds Time to answer a request.",
                "# TYPE embedlab_request_seconds histogram",
            ]
            for route, hist in sorted(self._latency.items()):
                lines += hist.lines("embedlab_request_seconds", f'route="{_escape(route)}"')
            lines += [
                "# HELP embedlab_encode_batch_inputs Inputs per micro-batch sent to the model.",
                "# TYPE embedlab_encode_batch_inputs histogram",
                *self._batches.lines("embedlab_encode_batch_inputs", ""),
            ]
        lines += [
            "# HELP embedlab_encode_queue_depth Encode requests waiting for the model.",
            "# TYPE embedlab_encode_queue_depth gauge",
            f"embedlab_encode_queue_depth {self.queue_depth()}",
            "# HELP embedlab_collection_rows Live rows per collection.",
            "# TYPE embedlab_collection_rows gauge",
        ]
        for name, count in sorted(self.collection_sizes().items()):
            lines.append(f'embedlab_collection_rows{{collection="{_escape(name)}"}} {count}')
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
