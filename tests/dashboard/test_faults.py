"""Faults survived: the warehouse goes away and comes back, a load is killed half-way, Redis is absent or stops."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from dashboard.config import PROJECT_ROOT
from data_access.db import get_engine, read_current_version, version_cache
from data_access.demo_data import write_demo_data
from tests.conftest import build_app, login
from tests.services import unavailable
from tests.tcp_proxy import TcpProxy

CLIENT_VALUES = {"client-payer.value": "UnitedHealthcare", "client-specialty.value": "",
                 "client-dates.start_date": "2020-01-01", "client-dates.end_date": "2021-12-31"}


@pytest.mark.postgres
def test_postgres_outage_gives_503_and_the_app_recovers_by_itself(tmp_path, pg_url, fixture_input):
    proxy = TcpProxy(5432).start()
    proxied = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    app = build_app(tmp_path, fixture_input, database_url=proxied)
    viewer = login(app, "uhc")
    assert app.test_client().get("/healthz").status_code == 200
    assert viewer.callback("client-kpi-members", CLIENT_VALUES).status_code == 200
    try:
        proxy.stop()
        version_cache.clear()
        health = app.test_client().get("/healthz")
        assert health.status_code == 503
        assert health.json["status"] == "unavailable"
        page = viewer.client.get("/client")
        assert page.status_code == 503
        assert "database is not answering" in page.get_data(as_text=True)
        answer = viewer.callback("client-kpi-members", CLIENT_VALUES)
        assert answer.status_code == 503
        for response in (health, page, answer):
            assert "Traceback" not in response.get_data(as_text=True)
            assert "psycopg2" not in response.get_data(as_text=True)
    finally:
        proxy.start()
    # back without restarting anything: the pool notices dead connections and reconnects
    deadline = time.time() + 15
    while app.test_client().get("/healthz").status_code != 200 and time.time() < deadline:
        time.sleep(0.5)
    assert app.test_client().get("/healthz").status_code == 200
    assert viewer.callback("client-kpi-members", CLIENT_VALUES).status_code == 200
    assert viewer.client.get("/client").status_code == 200
    proxy.stop()


def test_sqlite_outage_is_a_clear_503(tmp_path, fixture_input):
    app = build_app(tmp_path, fixture_input)
    viewer = login(app, "uhc")
    database = tmp_path / "warehouse.db"
    from data_access.db import dispose_engines

    dispose_engines()
    for suffix in ("", "-wal", "-shm"):
        if (tmp_path / f"warehouse.db{suffix}").exists():
            os.rename(tmp_path / f"warehouse.db{suffix}", tmp_path / f"moved.db{suffix}")
    os.mkdir(database)  # a directory where the file was: SQLite cannot open it
    try:
        version_cache.clear()
        assert app.test_client().get("/healthz").status_code == 503
        response = viewer.client.get("/client")
        assert response.status_code in (401, 503)
        assert "Traceback" not in response.get_data(as_text=True)
    finally:
        os.rmdir(database)
        for suffix in ("", "-wal", "-shm"):
            if (tmp_path / f"moved.db{suffix}").exists():
                os.rename(tmp_path / f"moved.db{suffix}", tmp_path / f"warehouse.db{suffix}")
        dispose_engines()
    assert app.test_client().get("/healthz").status_code == 200


def _kill_load_halfway(database_url: str, input_dir, marker: tuple[str, ...] = ("writing", "procedures")) -> int:
    """Start load-data and kill it once its progress names every word of `marker` (the procedures being written:
    alone on SQLite, among the tables written two at a time on PostgreSQL)."""
    env = {**os.environ, "DATABASE_URL": database_url, "APP_ENV": "development"}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "load-data", "--input", str(input_dir)],
                               cwd=PROJECT_ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen = []
    for line in process.stderr:
        seen.append(line)
        if all(word in line for word in marker):
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, f"the load ended before it could be killed: {''.join(seen)[-500:]}"
    return process.returncode


@pytest.fixture(scope="module")
def bigger_input(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bigger")
    write_demo_data(directory, patients=6000, seed=3)
    return directory


@pytest.mark.parametrize("engine_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_load_killed_halfway_keeps_the_previous_data(tmp_path, fixture_input, bigger_input, engine_kind, request):
    if engine_kind == "postgres":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'kill.db'}"
    from data_access.loader import load_input

    engine = get_engine(url)
    first = load_input(engine, fixture_input)
    before = read_current_version(engine)
    assert before.version_id == first.version_id or first.status == "unchanged"
    _kill_load_halfway(url, bigger_input)
    version_cache.clear()
    assert read_current_version(engine) == before
    from sqlalchemy import func, select

    from data_access import schema

    with engine.connect() as connection:
        patients = connection.execute(select(func.count()).select_from(schema.patients)).scalar()
    assert patients == 15  # the fixture data, untouched
    result = load_input(engine, bigger_input)
    assert result.status == "loaded"
    assert result.counts["patients"] == 6000
    # back to the fixture data for the other tests sharing this database
    load_input(engine, fixture_input)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_app_serves_without_redis(tmp_path, fixture_input):
    app = build_app(tmp_path, fixture_input, redis_url=f"redis://127.0.0.1:{_free_port()}/0", login_max_failures=2)
    viewer = login(app, "uhc")
    assert viewer.callback("client-kpi-members", CLIENT_VALUES).status_code == 200
    assert viewer.callback("client-kpi-members", CLIENT_VALUES).status_code == 200  # served from the memory cache
    # throttling falls back to process memory
    from tests.security.test_auth import post_login

    for attempt in range(2):
        post_login(app.test_client(), "humana", "wrong password!!", REMOTE_ADDR=f"10.3.3.{attempt}")
    assert post_login(app.test_client(), "humana", "correct horse battery staple",
                      REMOTE_ADDR="10.3.3.9").status_code == 429


def test_redis_stopping_while_serving(tmp_path, fixture_input):
    from shutil import which

    if not which("redis-server"):
        unavailable("redis-server is not installed")
    port = _free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        app = build_app(tmp_path, fixture_input, redis_url=f"redis://127.0.0.1:{port}/0")
        viewer = login(app, "uhc")
        first = viewer.callback("client-kpi-members", CLIENT_VALUES)
        assert first.status_code == 200
        import redis

        assert redis.Redis(port=port).dbsize() > 0  # the answer was cached in Redis
    finally:
        server.kill()
        server.wait()
    again = viewer.callback("client-kpi-members", CLIENT_VALUES)
    assert again.status_code == 200
    assert again.json["response"] == first.json["response"]
    assert viewer.callback("client-kpi-members", {**CLIENT_VALUES, "client-dates.start_date": "2020-06-01"}) \
        .status_code == 200

