"""gunicorn as in production (`gunicorn -w 2 --preload -b 127.0.0.1:<port> wsgi:server`), on a free loopback port.

Measurements start only when every worker is up and idle (with `--preload` the master imports the app once and the
workers share those pages until they write to them), otherwise the first calls would time a worker's start-up
instead of the app. gunicorn gets
its own session, so a Ctrl-C reaches the harness only and the harness stops gunicorn in an orderly way. Its output
goes to a log file that is scanned afterwards for tracebacks and worker timeouts, which the report lists.

`--no-control-socket` is the one addition to the production command line: gunicorn 27 otherwise binds one control
socket per user (~/.gunicorn/gunicorn.ctl), which a bench run would take over from a gunicorn already running on the
machine. It does not change how requests are served.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from tests.bench.env import PROJECT_ROOT, VENV_BIN, private_mb, rss_mb

PROBLEM_MARKERS = ("Traceback", "[ERROR]", "[CRITICAL]", "WORKER TIMEOUT")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(entry.name))
    return sorted(found)


class Gunicorn:
    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 2):
        self.env, self.log_path, self.workers = env, log_path, workers
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def start(self, timeout: float = 180) -> None:
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w")
        command = [str(VENV_BIN / "gunicorn"), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
                   "--preload", "--no-control-socket", "wsgi:server"]
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{self.log_tail()}")
        self._wait_until_workers_idle(deadline)

    def _wait_until_workers_idle(self, deadline: float) -> None:
        """Every worker exists and has used no CPU for half a second: it has imported the app and waits."""
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            before = [_cpu_ticks(pid) for pid in pids]
            time.sleep(0.5)
            after = [_cpu_ticks(pid) for pid in pids]
            if len(pids) == self.workers and before == after and None not in after:
                return
        raise RuntimeError(f"gunicorn workers did not settle:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid) if self.process else []

    def worker_rss_mb(self) -> dict[int, float]:
        return {pid: round(rss, 1) for pid in self.worker_pids() if (rss := rss_mb(pid)) is not None}

    def worker_private_mb(self) -> dict[int, float]:
        return {pid: round(value, 1) for pid in self.worker_pids() if (value := private_mb(pid)) is not None}

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGQUIT is gunicorn's quick shutdown: the measurements are over, and the graceful SIGTERM leaves the master
        # waiting seconds for its workers to finish exiting.
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_problems(self, limit: int = 20) -> list[str]:
        """Lines of the log that report an error, a traceback or a killed worker (first `limit`)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        lines = text.splitlines()
        problems = []
        for number, line in enumerate(lines):
            if any(marker in line for marker in PROBLEM_MARKERS):
                # a traceback's last line says what went wrong
                if line.startswith("Traceback"):
                    tail = next((later for later in lines[number + 1:] if later and not later.startswith(" ")),
                                "")
                    line = f"{line} ... {tail}"
                problems.append(line.strip()[:300])
        return problems[:limit] + ([f"... and {len(problems) - limit} more"] if len(problems) > limit else [])
