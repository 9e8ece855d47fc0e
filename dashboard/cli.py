"""Flask CLI commands (DESIGN §5): load-data, demo-data, users, demo-accounts."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from dashboard.config import PROJECT_ROOT
from data_access import accounts
from data_access.csv_input import InputError
from data_access.db import init_schema, read_current_version
from data_access.loader import has_input, load_input
from security.auth import create_account
from security.passwords import WeakPassword, hash_password
from security.scope import Role

DEMO_ACCOUNTS = (
    ("uhc", "client", "UnitedHealthcare", None),
    ("humana-oncology", "client", "Humana", "Oncology"),
    ("humana-hospice", "client", "Humana", "Hospice"),
    ("humana", "client", "Humana", None),
    ("senior", "senior_management", None, None),
    ("employee", "employee", None, None),
    ("admin", "admin", None, None),
)
DEMO_ACCOUNTS_FILE = PROJECT_ROOT / "var" / "demo-accounts.txt"


def _state():
    return current_app.extensions["pag"]


def _read_password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def init_app(app: Flask) -> None:
    @app.cli.command("load-data")
    @click.option("--input", "input_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Folder with the five CSVs (default: MAT_INPUT_DIR, else input/).")
    @click.option("--source", type=click.Choice(["real", "demo"]), default="real", help="Label shown in the app.")
    @click.option("--force", is_flag=True, help="Reload even if the files are unchanged.")
    @click.option("--no-warm", is_flag=True, help="Do not precompute the pages' default views after loading.")
    def load_data(input_dir: Path | None, source: str, force: bool, no_warm: bool = False):
        """Validate the five CSVs and load them into the warehouse in one transaction."""
        state = _state()
        input_dir = input_dir or state.settings.input_dir
        click.echo(f"Loading {input_dir} into {state.engine.url.render_as_string(hide_password=True)}")
        with click.progressbar(length=100, label="validating", show_pos=False, file=sys.stderr) as bar:
            steps = {"n": 0}

            def progress(label: str) -> None:
                steps["n"] += 1
                bar.label = f"{label:<28}"
                bar.update(min(6, 99 - bar.pos))

            try:
                result = load_input(state.engine, input_dir, source=source, progress=progress, force=force)
            except InputError as error:
                bar.label = "refused"
                failure = error
            else:
                failure = None
                bar.update(100 - bar.pos)
        if failure is not None:
            click.secho("Input refused; nothing was loaded:", fg="red", err=True)
            for problem in failure.problems:
                click.echo(f"  {problem}", err=True)
            previous = read_current_version(state.engine)
            if previous:
                click.echo(f"The previous data (version {previous.version_id}, loaded "
                           f"{previous.loaded_at:%Y-%m-%d %H:%M} UTC) is still served.", err=True)
            sys.exit(1)
        if result.status == "unchanged":
            click.echo(f"Input unchanged: data version {result.version_id} kept ({result.seconds:.1f} s).")
            return
        click.echo(f"Loaded data version {result.version_id} in {result.seconds:.1f} s:")
        for table, count in result.counts.items():
            click.echo(f"  {table:<28}{count:>12,}")
        if not no_warm:
            warm_views(state)

    def warm_views(state):
        from dashboard.warm import warm

        views, seconds = warm(state)
        click.echo(f"Precomputed {views} default views in {seconds:.1f} s (served to every worker from the "
                   "warehouse).")

    @app.cli.command("warm-cache")
    def warm_cache():
        """Precompute the pages' default views for the current data (load-data does this itself)."""
        warm_views(_state())

    @app.cli.command("demo-data")
    @click.option("--patients", type=click.IntRange(10, 2_000_000), required=True)
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
    def demo_data(patients: int, seed: int, out_dir: Path):
        """Write a synthetic data set in exactly the input format."""
        from data_access.demo_data import write_demo_data

        out_dir.mkdir(parents=True, exist_ok=True)
        with click.progressbar(length=100, label="generating", file=sys.stderr) as bar:
            def progress(step: str, done: int, total: int) -> None:
                bar.label = f"{step:<20}"
                bar.update(max(0, int(100 * done / max(total, 1)) - bar.pos))

            counts = write_demo_data(out_dir, patients, seed, progress=progress)
        for name, count in counts.items():
            click.echo(f"  {name + '.csv':<20}{count:>12,}")

    @app.cli.command("demo-accounts")
    def demo_accounts():
        """Development only: one account per role with random passwords, printed once and kept in a private file."""
        state = _state()
        if state.settings.production:
            raise click.ClickException("APP_ENV=production never creates demo accounts")
        init_schema(state.engine)
        created = []
        for username, role, payer, specialty in DEMO_ACCOUNTS:
            if accounts.find_account(state.engine, username):
                continue
            if payer and payer not in state.settings.client_payers:
                continue
            password = secrets.token_urlsafe(12)
            create_account(state.engine, username, role, password, payer, specialty, state.settings.client_payers)
            created.append((username, role, payer or "", specialty or "", password))
        if not created:
            click.echo(f"Demo accounts exist already; their passwords are in {DEMO_ACCOUNTS_FILE}.")
            return
        DEMO_ACCOUNTS_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(DEMO_ACCOUNTS_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as handle:
            for row in created:
                handle.write("\t".join(row) + "\n")
        os.chmod(DEMO_ACCOUNTS_FILE, 0o600)
        click.echo("Demo accounts (shown once; also in var/demo-accounts.txt, readable only by you):")
        for username, role, payer, specialty, password in created:
            scope = " · ".join(part for part in (payer, specialty) if part)
            click.echo(f"  {username:<18}{password:<20}{role}{' · ' + scope if scope else ''}")

    users = AppGroup("users", help="Manage accounts.")
    app.cli.add_command(users)

    @users.command("create")
    @click.argument("username")
    @click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
    @click.option("--payer", default=None, help="Client accounts: the payer name as in payers.csv.")
    @click.option("--specialty", default=None, help="Client accounts: the member's specialty.")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def users_create(username, role, payer, specialty, password_stdin):
        """Create an account."""
        state = _state()
        init_schema(state.engine)
        password = _read_password(password_stdin)
        try:
            create_account(state.engine, username, role, password, payer, specialty, state.settings.client_payers)
        except (ValueError, WeakPassword) as error:
            raise click.ClickException(str(error)) from None
        details = ", ".join(part for part in (role, payer, specialty) if part)
        click.echo(f"Created {username} ({details}).")

    @users.command("list")
    def users_list():
        """List accounts (never passwords)."""
        for row in accounts.list_accounts(_state().engine):
            status = "disabled" if row.disabled else "active"
            click.echo(f"{row.username:<20}{row.role:<20}{row.payer or '':<20}{row.specialty or '':<28}{status}")

    @users.command("disable")
    @click.argument("username")
    def users_disable(username):
        """Disable an account and end its sessions."""
        if not accounts.set_disabled(_state().engine, username):
            raise click.ClickException(f"no account {username!r}")
        click.echo(f"Disabled {username}; its sessions are ended.")

    @users.command("set-password")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def users_set_password(username, password_stdin):
        """Set a new password (ends the account's sessions)."""
        try:
            password_hash = hash_password(_read_password(password_stdin))
        except WeakPassword as error:
            raise click.ClickException(str(error)) from None
        if not accounts.set_password_hash(_state().engine, username, password_hash):
            raise click.ClickException(f"no account {username!r}")
        click.echo(f"Password of {username} changed; its sessions are ended.")

    @app.cli.command("prepare-demo")
    @click.option("--demo-dir", type=click.Path(file_okay=False, path_type=Path),
                  default=PROJECT_ROOT / "var" / "demo-input", show_default=True)
    def prepare_demo(demo_dir: Path):
        """`make run`: load MAT_INPUT_DIR's CSVs, or a generated 1,000-patient demo set when there are none."""
        state = _state()
        input_dir = state.settings.input_dir
        ctx = click.get_current_context()
        if has_input(input_dir):
            ctx.invoke(load_data, input_dir=input_dir, source="real", force=False, no_warm=False)
            return
        if not has_input(demo_dir):
            click.echo(f"No CSVs in {input_dir}: generating a 1,000-patient demo set in {demo_dir}")
            ctx.invoke(demo_data, patients=1000, seed=0, out_dir=demo_dir)
        ctx.invoke(load_data, input_dir=demo_dir, source="demo", force=False, no_warm=False)
