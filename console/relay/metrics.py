"""The relay's counters and the Prometheus text exposition of ``GET /metrics``.

A handful of integers and one histogram do not need a client library; keeping them as plain
attributes also keeps the ingest path's bookkeeping at a few nanoseconds per request.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Final

#: Commit latency buckets (seconds): group commit lands most requests between 1 and 10 ms.
LATENCY_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip


class Histogram:
    """A cumulative Prometheus histogram."""

    def __init__(self, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.buckets = tuple(buckets)
        self._counts = [0] * (len(self.buckets) + 1)
        self.count = 0
        self.total = 0.0

    def observe(self, value: float) -> None:
        """Record one observation."""
        self._counts[bisect.bisect_left(self.buckets, value)] += 1
        self.count += 1
        self.total += value

    def render(self, name: str, help_text: str) -> list[str]:
        """Exposition lines for this histogram."""
        lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        cumulative = 0
        for bound, count in zip(self.buckets, self._counts, strict=False):
            cumulative += count
            lines.append(f'{name}_bucket{{le="{bound:g}"}} {cumulative}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{name}_sum {self.total:.6f}")
        lines.append(f"{name}_count {self.count}")
        return lines


class RelayMetrics:
    """Everything ``GET /metrics`` reports."""

    def __init__(
        self,
        consumers: Callable[[], int],
        store_available: Callable[[], bool],
        last_seq: Callable[[], int],
        jobs_running: Callable[[], bool] = lambda: False,
    ) -> None:
        self.received = 0
        self.duplicates = 0
        self.quarantined = 0
        self.state_changes = 0
        self.rejected: Counter[str] = Counter()
        self.commit_latency = Histogram()
        self._consumers = consumers
        self._store_available = store_available
        self._last_seq = last_seq
        self._jobs_running = jobs_running

    def render(self) -> str:
        """The Prometheus text format (version 0.0.4)."""
        lines = [
            "# HELP psa_relay_webhooks_received_total Webhooks accepted and committed as new events.",
            "# TYPE psa_relay_webhooks_received_total counter",
            f"psa_relay_webhooks_received_total {self.received}",
            "# HELP psa_relay_webhooks_duplicate_total Redeliveries of a notification already stored.",
            "# TYPE psa_relay_webhooks_duplicate_total counter",
            f"psa_relay_webhooks_duplicate_total {self.duplicates}",
            "# HELP psa_relay_webhooks_rejected_total Webhooks refused, by reason.",
            "# TYPE psa_relay_webhooks_rejected_total counter",
        ]
        lines.extend(
            f'psa_relay_webhooks_rejected_total{{reason="{reason}"}} {count}'
            for reason, count in sorted(self.rejected.items())
        )
        lines += [
            "# HELP psa_relay_quarantined_total Malformed bodies kept in the quarantine table.",
            "# TYPE psa_relay_quarantined_total counter",
            f"psa_relay_quarantined_total {self.quarantined}",
            "# HELP psa_relay_state_changes_total State changes recorded (claim, ack, ...).",
            "# TYPE psa_relay_state_changes_total counter",
            f"psa_relay_state_changes_total {self.state_changes}",
        ]
        lines += self.commit_latency.render(
            "psa_relay_commit_latency_seconds",
            "Time from a webhook's body being read to its durable commit.",
        )
        lines += [
            "# HELP psa_relay_consumers Connected event stream consumers.",
            "# TYPE psa_relay_consumers gauge",
            f"psa_relay_consumers {self._consumers()}",
            "# HELP psa_relay_store_available 1 while the event store accepts writes.",
            "# TYPE psa_relay_store_available gauge",
            f"psa_relay_store_available {int(self._store_available())}",
            "# HELP psa_relay_last_seq Highest seq published to the stream.",
            "# TYPE psa_relay_last_seq gauge",
            f"psa_relay_last_seq {self._last_seq()}",
            "# HELP psa_relay_jobs_running 1 while this relay runs the pollers and rules worker.",
            "# TYPE psa_relay_jobs_running gauge",
            f"psa_relay_jobs_running {int(self._jobs_running())}",
        ]
        return "\n".join(lines) + "\n"
