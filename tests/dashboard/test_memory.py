"""Heavy requests give their freed memory back (glibc malloc_trim), light ones do not pay for it."""
from __future__ import annotations

from flask import Flask

from dashboard import memory


def test_trim_runs_after_heavy_requests_only(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "_malloc_trim", lambda: (lambda pad: calls.append(pad)))
    server = Flask("memory-test")
    memory.init_app(server, threshold_s=0.05)

    @server.get("/light")
    def light():
        return "ok"

    @server.get("/heavy")
    def heavy():
        import time

        time.sleep(0.08)
        return "ok"

    client = server.test_client()
    client.get("/light").close()
    assert calls == []
    client.get("/heavy").close()
    assert calls == [0]


def test_the_real_trim_is_found_on_this_platform():
    assert memory._malloc_trim() is not None  # glibc (Debian), as in production
