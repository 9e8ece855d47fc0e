"""What some tests need from the machine (PostgreSQL, Redis, Chromium, the real data), checked once.

On a developer's machine a missing resource skips the test with the reason. With CI=true it fails instead:
CI never goes green by skipping.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from functools import cache
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str):
    """Skip locally, fail in CI."""
    if in_ci():
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@cache
def postgres_ready() -> bool:
    if _port_open("127.0.0.1", 5432):
        return True
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if versions and shutil.which("pg_ctlcluster"):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
                       capture_output=True, timeout=60)
        for _ in range(30):
            if _port_open("127.0.0.1", 5432):
                return True
            time.sleep(0.5)
    return False


def start_postgres() -> None:
    postgres_ready.cache_clear()
    postgres_ready()


def redis_ready() -> bool:
    if _port_open("127.0.0.1", 6379):
        return True
    if shutil.which("redis-server"):
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "",
                        "--appendonly", "no"], capture_output=True, timeout=30)
        for _ in range(20):
            if _port_open("127.0.0.1", 6379):
                return True
            time.sleep(0.25)
    return False


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def real_input_dir() -> Path | None:
    value = os.environ.get("MAT_INPUT_DIR")
    if not value:
        return None
    path = Path(value)
    names = ("patients", "encounters", "procedures", "payers", "organizations")
    return path if all((path / f"{name}.csv").exists() for name in names) else None
