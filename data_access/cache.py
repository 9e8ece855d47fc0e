"""The query cache: keyed by query, Scope, parameters and data version, never shared across scopes.

Redis when REDIS_URL is set (shared by all workers), this process's memory otherwise or while Redis is down.
A load changes the data version, so old entries are simply never asked for again (Redis expires them).
"""
from __future__ import annotations

import hashlib
import json
import logging
import pickle
import threading
import time
from collections import OrderedDict

log = logging.getLogger("pag.cache")

# Part of every key: raised when cached answers change type (2: the client views answer data_access.table.Table
# instead of DataFrames), so that a new release never unpickles what an older one stored in Redis or in the
# warehouse's precomputed views (mart_results) under the same question.
ANSWER_FORMAT = 2


class MemoryCache:
    """An LRU of pickled values bounded by total size, so that a few large extracts cannot grow a worker."""

    def __init__(self, max_entries: int = 2048, max_bytes: int = 64 * 1024 * 1024):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._size = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def set(self, key: str, value: bytes, ttl: int) -> None:
        if len(value) > self.max_bytes // 4:
            return  # too big to keep: recomputing it is cheaper than evicting everything else
        with self._lock:
            old = self._items.pop(key, None)
            self._size += len(value) - (len(old) if old is not None else 0)
            self._items[key] = value
            while len(self._items) > self.max_entries or self._size > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


class QueryCache:
    """get/set of pickled values; Redis first, memory as the fallback."""

    def __init__(self, redis_client=None, namespace: str = "pag", ttl: int = 6 * 3600, max_entries: int = 2048):
        self.redis = redis_client
        self.namespace = namespace
        self.ttl = ttl
        self.memory = MemoryCache(max_entries)
        self._redis_down_until = 0.0

    def key(self, query: str, scope_key: str, params: dict, version: str) -> str:
        text = json.dumps([query, scope_key, params, version, ANSWER_FORMAT], sort_keys=True, default=str)
        return f"{self.namespace}:q:{hashlib.sha256(text.encode()).hexdigest()}"

    def _redis_ok(self) -> bool:
        return self.redis is not None and time.monotonic() >= self._redis_down_until

    def _redis_failed(self, error: Exception) -> None:
        # Back off for a few seconds instead of paying a connection timeout on every call.
        self._redis_down_until = time.monotonic() + 5
        log.warning("Redis cache unavailable (%s); using process memory", error)

    def get(self, key: str):
        raw = None
        if self._redis_ok():
            try:
                raw = self.redis.get(key)
            except Exception as error:
                self._redis_failed(error)
        if raw is None:
            raw = self.memory.get(key)
        return pickle.loads(raw) if raw is not None else None

    def set(self, key: str, value) -> None:
        raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if self._redis_ok():
            try:
                self.redis.set(key, raw, ex=self.ttl)
                return
            except Exception as error:
                self._redis_failed(error)
        self.memory.set(key, raw, self.ttl)

    def clear(self) -> None:
        self.memory.clear()
        if self._redis_ok():
            try:
                for key in self.redis.scan_iter(f"{self.namespace}:q:*"):
                    self.redis.delete(key)
            except Exception as error:
                self._redis_failed(error)
