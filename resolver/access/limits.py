"""Per-key rate limits: a token bucket per key and kind of call, in the server's memory.

Two kinds: every /v1 call (`rate_limit`) and matches (`match_rate_limit`, counted in both):
POST /match answers with per-field contributions, so a caller who may not see a phone could
otherwise test guesses against it as fast as the server answers. A bucket holds one second's
worth of tokens (at least one) and refills continuously, so a key may burst to its rate and
then keeps to it. A key's own limits (`keys create --rate-limit/--match-rate-limit`) win over
the server's (`serve --rate-limit/--match-rate-limit`); 0 means unlimited. A match call of n
named queries is let through on one token and then spends the other n - 1 (the bucket may go
below zero), so batching does not multiply a key's match rate.

Called on the event loop only (no lock): one dict look-up and a few float operations.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from resolver.access.keys import ApiKey
from resolver.errors import ResolverError

DEFAULT_RATE_LIMIT = 200.0
DEFAULT_MATCH_RATE_LIMIT = 10.0


class RateLimitedError(ResolverError):
    """The key sent more calls than its rate allows (HTTP 429, with Retry-After)."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class _Bucket:
    rate: float
    tokens: float
    at: float


class RateLimits:
    def __init__(self, rate_limit: float = DEFAULT_RATE_LIMIT,
                 match_rate_limit: float = DEFAULT_MATCH_RATE_LIMIT, clock=time.monotonic):
        self.rate_limit, self.match_rate_limit = rate_limit, match_rate_limit
        self.clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, key: ApiKey, match: bool = False) -> None:
        """Spend one token of the key's call bucket (and match bucket); RateLimitedError if empty."""
        now = self.clock()
        self._take(key, "call", _pick(key.rate_limit, self.rate_limit), now)
        if match:
            self._take(key, "match", _pick(key.match_rate_limit, self.match_rate_limit), now)

    def take_more_matches(self, key: ApiKey, n: int) -> None:
        """Spend `n` more match tokens for a call already let through (a batch of n + 1 queries
        costs as many as n + 1 calls: each query could test a guess). The bucket may go below
        zero: the key's next match call waits until it has refilled."""
        rate = _pick(key.match_rate_limit, self.match_rate_limit)
        bucket = self._buckets.get((key.key_id, "match"))
        if rate > 0 and bucket is not None and n > 0:
            bucket.tokens -= n

    def _take(self, key: ApiKey, kind: str, rate: float, now: float) -> None:
        if rate <= 0:
            return
        capacity = max(1.0, rate)
        bucket = self._buckets.get((key.key_id, kind))
        if bucket is None or bucket.rate != rate:
            if len(self._buckets) > 100_000:  # keys are few; bounded all the same
                self._buckets.clear()
            bucket = self._buckets[(key.key_id, kind)] = _Bucket(rate, capacity, now)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens < 1.0:
            wait = (1.0 - bucket.tokens) / rate
            label = "match calls" if kind == "match" else "calls"
            raise RateLimitedError(f"key {key.key_id} is limited to {rate:g} {label} a second; "
                                   f"retry in {wait:.2f} s", retry_after=wait)
        bucket.tokens -= 1.0


def _pick(own: float | None, default: float) -> float:
    return default if own is None else own


def retry_after_header(seconds: float) -> str:
    """Retry-After takes whole seconds; round up so a client that obeys it is not refused again."""
    return str(max(1, math.ceil(seconds)))
