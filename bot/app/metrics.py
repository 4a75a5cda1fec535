"""A small Prometheus text-format registry (no client library): counters by label set, and a renderer that adds
the gauges read at scrape time (queue depth, reviews by status, LLM usage from the store)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import httpx

LATENCY_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self._help: dict[str, str] = {}

    def describe(self, name: str, help_text: str) -> None:
        self._help[name] = help_text

    def inc(self, name: str, amount: float = 1.0, **labels: Any) -> None:
        key = tuple(sorted((k, str(v)) for k, v in labels.items()))
        with self._lock:
            series = self._values[name]
            series[key] = series.get(key, 0.0) + amount

    def value(self, name: str, **labels: Any) -> float:
        key = tuple(sorted((k, str(v)) for k, v in labels.items()))
        with self._lock:
            return self._values.get(name, {}).get(key, 0.0)

    def render(self) -> list[str]:
        lines: list[str] = []
        with self._lock:
            for name in sorted(set(self._values) | set(self._help)):
                lines.append(f"# HELP {name} {self._help.get(name, name)}")
                lines.append(f"# TYPE {name} counter")
                for key, value in sorted(self._values.get(name, {}).items()):
                    lines.append(f"{name}{_labels(key)} {_num(value)}")
        return lines


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(key: Iterable[tuple[str, str]]) -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in key]
    return "{" + ",".join(parts) + "}" if parts else ""


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def gauge(name: str, help_text: str, series: Iterable[tuple[dict[str, Any], float]], kind: str = "gauge") -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in series:
        lines.append(f"{name}{_labels(sorted((k, str(v)) for k, v in labels.items()))} {_num(value)}")
    return lines


def histogram(
    name: str, help_text: str, values: list[float], buckets: tuple[float, ...] = LATENCY_BUCKETS
) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    for bound in buckets:
        lines.append(f'{name}_bucket{{le="{bound}"}} {sum(1 for v in values if v <= bound)}')
    lines.append(f'{name}_bucket{{le="+Inf"}} {len(values)}')
    lines.append(f"{name}_sum {_num(round(sum(values), 6))}")
    lines.append(f"{name}_count {len(values)}")
    return lines


COUNTERS = Counters()
COUNTERS.describe("dbreview_webhooks_total", "Webhook deliveries by event and result")
COUNTERS.describe("dbreview_github_api_calls_total", "GitHub API responses by method and status class")
COUNTERS.describe("dbreview_github_api_retries_total", "GitHub API responses that were rate limits or 5xx (retried)")
COUNTERS.describe("dbreview_jobs_total", "Queue jobs run in this process by kind and outcome")


class CountingTransport(httpx.BaseTransport):
    """Counts every GitHub API response, so retries (403/429/5xx) show up in the metrics without touching the
    client's code."""

    def __init__(self, inner: httpx.BaseTransport | None = None, counters: Counters = COUNTERS) -> None:
        self._inner = inner or httpx.HTTPTransport()
        self._counters = counters

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        status = response.status_code
        self._counters.inc("dbreview_github_api_calls_total", method=request.method, status=f"{status // 100}xx")
        if status in (403, 429) or status >= 500:
            self._counters.inc("dbreview_github_api_retries_total", status=str(status))
        return response

    def close(self) -> None:
        self._inner.close()
