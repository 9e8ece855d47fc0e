"""Failed-login throttling keyed on account and on address (a 429 once either has too many recent failures).

Counters live in Redis when REDIS_URL is set (shared by every worker and host) and fall back to this process's
memory when Redis is absent or stops answering, so that logins keep working through a Redis outage.
"""
from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("pag.throttle")


class LoginThrottle:
    def __init__(self, max_failures: int, window_seconds: int, redis_client=None):
        self.max_failures = max_failures
        self.window = window_seconds
        self.redis = redis_client
        self._memory: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(username: str, address: str | None) -> list[str]:
        return [f"login-fail:acct:{username.lower()}", f"login-fail:addr:{address or '-'}"]

    def retry_after(self, username: str, address: str | None) -> int:
        """Seconds until another attempt is allowed (0: allowed now)."""
        waits = [self._wait(key) for key in self.keys(username, address)]
        return max(waits)

    def failed(self, username: str, address: str | None) -> None:
        for key in self.keys(username, address):
            self._add(key)

    def succeeded(self, username: str, address: str | None) -> None:
        # Only the account's counter is cleared: a shared address keeps its history.
        self._clear(self.keys(username, address)[0])

    # -- storage

    def _wait(self, key: str) -> int:
        if self.redis is not None:
            try:
                count = int(self.redis.get(key) or 0)
                return int(self.redis.ttl(key)) if count >= self.max_failures else 0
            except Exception as error:  # Redis down: memory fallback
                log.warning("Redis unavailable for login throttling (%s); using process memory", error)
        now = time.time()
        with self._lock:
            recent = [t for t in self._memory.get(key, []) if now - t < self.window]
            self._memory[key] = recent
            if len(recent) >= self.max_failures:
                return max(1, int(self.window - (now - recent[0])))
        return 0

    def _add(self, key: str) -> None:
        if self.redis is not None:
            try:
                pipe = self.redis.pipeline()
                pipe.incr(key)
                pipe.expire(key, self.window, nx=True)
                pipe.execute()
                return
            except Exception as error:
                log.warning("Redis unavailable for login throttling (%s); using process memory", error)
        with self._lock:
            self._memory.setdefault(key, []).append(time.time())

    def _clear(self, key: str) -> None:
        if self.redis is not None:
            try:
                self.redis.delete(key)
            except Exception as error:
                log.warning("Redis unavailable for login throttling (%s)", error)
        with self._lock:
            self._memory.pop(key, None)
