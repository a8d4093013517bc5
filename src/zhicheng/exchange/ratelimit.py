"""Calls per minute per grant: a token bucket in each server process.

A bucket holds up to `rate` calls and refills at rate/60 per second, so a consumer may burst a minute's
calls and is then held to its rate. Buckets live in the process: with N API processes a consumer gets at
most N × its rate (docs/exchange.md says so; a shared limiter would cost a round trip per call).
"""

from __future__ import annotations

import threading
import time

from zhicheng.core.errors import Throttled

_lock = threading.Lock()
_buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, last refill time)
MAX_KEYS = 100_000


def take(key: str, rate: int) -> None:
    """Spend one call from `key`'s bucket or raise Throttled (429) with the seconds until the next one."""
    now = time.monotonic()
    with _lock:
        tokens, last = _buckets.get(key, (float(rate), now))
        tokens = min(float(rate), tokens + (now - last) * rate / 60.0)
        if tokens < 1.0:
            _buckets[key] = (tokens, now)
            wait = (1.0 - tokens) * 60.0 / rate
            raise Throttled(
                f"调用过于频繁：本授权每分钟最多 {rate} 次，请 {wait:.1f} 秒后再试",
                f"rate limit: at most {rate} calls a minute for this grant; retry in {wait:.1f} s",
                retry_after=max(1, round(wait)),
            )
        if len(_buckets) >= MAX_KEYS and key not in _buckets:
            _buckets.clear()  # bounded memory: forgetting buckets only ever lets calls through early
        _buckets[key] = (tokens - 1.0, now)


def reset() -> None:
    with _lock:
        _buckets.clear()
