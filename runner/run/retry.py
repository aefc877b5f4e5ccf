"""When a system failure is tried again: one policy for keyed items and a reconciliation's ledger."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int             # in all, the first included
    backoff_seconds: float    # before the second attempt; doubled before each one after

    @classmethod
    def of(cls, bot) -> "RetryPolicy":
        return cls(bot.retry.attempts, bot.retry.backoff_seconds)

    def delay_after(self, attempt: int) -> float | None:
        """Seconds to wait after failed attempt `attempt` (1-based); None when none is left."""
        if attempt >= self.attempts:
            return None
        return self.backoff_seconds * (2 ** (attempt - 1))
