"""The commands a fresh clone runs (`make run`) and the account commands."""
from __future__ import annotations

import os
import stat

from dashboard.app import create_app
from data_access.db import read_current_version
from tests.conftest import make_settings


def test_prepare_demo_generates_and_loads_a_demo_set(tmp_path):
    empty = tmp_path / "input"
    empty.mkdir()
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'w.db'}", input_dir=empty))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["prepare-demo", "--demo-dir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    version = read_current_version(app.extensions["pag"].engine)
    assert version.source == "demo"
    assert (tmp_path / "demo" / "procedures.csv").exists()
    # the second run finds the same files and changes nothing
    again = runner.invoke(args=["prepare-demo", "--demo-dir", str(tmp_path / "demo")])
    assert "Input unchanged" in again.output
    assert read_current_version(app.extensions["pag"].engine) == version


def test_users_commands(tmp_path):
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'w.db'}"))
    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "carol", "--role", "client", "--payer", "Humana",
                                  "--specialty", "Oncology", "--password-stdin"], input="a long enough password\n")
    assert created.exit_code == 0, created.output
    weak = runner.invoke(args=["users", "create", "dave", "--role", "admin", "--password-stdin"], input="short\n")
    assert weak.exit_code != 0 and "at least 12" in weak.output
    wrong = runner.invoke(args=["users", "create", "erin", "--role", "client", "--payer", "Aetna",
                                "--password-stdin"], input="a long enough password\n")
    assert wrong.exit_code != 0 and "not a client payer" in wrong.output
    listed = runner.invoke(args=["users", "list"])
    assert "carol" in listed.output and "Oncology" in listed.output and "password" not in listed.output
    assert runner.invoke(args=["users", "disable", "carol"]).exit_code == 0
    assert "disabled" in runner.invoke(args=["users", "list"]).output
    changed = runner.invoke(args=["users", "set-password", "carol", "--password-stdin"], input="another long one!\n")
    assert changed.exit_code == 0


def test_demo_accounts_file_is_private(tmp_path, monkeypatch):
    from dashboard import cli

    monkeypatch.setattr(cli, "DEMO_ACCOUNTS_FILE", tmp_path / "demo-accounts.txt")
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'w.db'}"))
    result = app.test_cli_runner().invoke(args=["demo-accounts"])
    assert result.exit_code == 0, result.output
    assert "humana-oncology" in result.output
    mode = stat.S_IMODE(os.stat(tmp_path / "demo-accounts.txt").st_mode)
    assert mode == 0o600
    again = app.test_cli_runner().invoke(args=["demo-accounts"])
    assert "exist already" in again.output
