"""Configuration: read once from the environment into one object, overridable in tests.

Every setting of the product is here, with its default and its validation, so that the README's configuration
table and the code cannot drift apart (`tests/dashboard/test_config.py` checks the table names every field).
"""
from __future__ import annotations

import dataclasses
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

VISIBILITY_LEVELS = ("detail", "aggregate")


class ConfigError(RuntimeError):
    """The environment describes a configuration the app must not start with."""


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"expected an integer, got {value!r}") from None


def _switch(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("on", "true", "yes", "1"):
        return True
    if lowered in ("off", "false", "no", "0"):
        return False
    raise ValueError(f"expected on or off, got {value!r}")


def _visibility(value: str) -> dict[str, str]:
    """Parse `PAYER=level,PAYER=level` (payer names as in payers.csv)."""
    result: dict[str, str] = {}
    for item in _csv(value):
        name, _, level = item.rpartition("=")
        if not name or level not in VISIBILITY_LEVELS:
            raise ValueError(f"{item!r} is not PAYER=detail|aggregate")
        result[name.strip()] = level
    return result


@dataclass(frozen=True)
class Settings:
    app_env: str = "development"
    secret_key: str = ""
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'warehouse.db'}"
    redis_url: str = ""
    input_dir: Path = PROJECT_ROOT / "input"
    min_cell_size: int = 11
    client_payers: tuple[str, ...] = ("UnitedHealthcare", "Humana")
    # Internal (PAG staff) row-level visibility per payer; payers not listed are `detail`.
    internal_visibility: dict[str, str] = field(
        default_factory=lambda: {"UnitedHealthcare": "aggregate", "NO_INSURANCE": "aggregate"}
    )
    client_date_precision: str = "day"
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    login_max_failures: int = 5
    login_window_seconds: int = 900
    map_style: str = "carto-positron"
    trusted_proxies: int = 1
    # Server-side prepared statements for the report queries on PostgreSQL (data_access.prepared). Off behind a
    # connection pooler in transaction mode (PgBouncer), which cannot keep a session's prepared statements.
    postgres_prepared_statements: bool = True

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        """Build settings from `env` (default `os.environ`), then apply keyword overrides (tests)."""
        env = dict(os.environ if env is None else env)
        values: dict = {}
        for variable, (name, parse) in ENVIRONMENT.items():
            if env.get(variable):
                try:
                    values[name] = parse(env[variable])
                except ValueError as error:
                    raise ConfigError(f"{variable}: {error}") from None
        values.update(overrides)
        return cls(**values).validated()

    def validated(self) -> Settings:
        """Refuse configurations that would be unsafe or meaningless; fill a development secret."""
        if self.app_env not in ("development", "production", "test"):
            raise ConfigError(f"APP_ENV must be development, production or test, got {self.app_env!r}")
        if self.production and len(self.secret_key) < 32:
            raise ConfigError(
                "APP_ENV=production needs SECRET_KEY (at least 32 characters, the same on every worker); "
                "refusing to start"
            )
        if self.client_date_precision not in ("day", "year"):
            raise ConfigError("CLIENT_DATE_PRECISION must be day or year")
        if self.min_cell_size < 2:
            raise ConfigError("MIN_CELL_SIZE must be at least 2")
        if not self.client_payers:
            raise ConfigError("CLIENT_PAYERS must name at least one payer")
        if self.secret_key:
            return self
        # Development only: a per-process random key. Sessions then do not survive a restart and are not shared
        # between gunicorn workers, which is why production insists on SECRET_KEY.
        return dataclasses.replace(self, secret_key=_development_secret())

    def visibility_of(self, payer_name: str) -> str:
        return self.internal_visibility.get(payer_name, "detail")


# Environment variable -> (setting, parser). The README's configuration table documents each one (tested).
ENVIRONMENT = {
    "APP_ENV": ("app_env", str),
    "SECRET_KEY": ("secret_key", str),
    "DATABASE_URL": ("database_url", str),
    "REDIS_URL": ("redis_url", str),
    "MAT_INPUT_DIR": ("input_dir", Path),
    "MIN_CELL_SIZE": ("min_cell_size", _integer),
    "CLIENT_PAYERS": ("client_payers", _csv),
    "INTERNAL_VISIBILITY": ("internal_visibility", _visibility),
    "CLIENT_DATE_PRECISION": ("client_date_precision", str),
    "SESSION_IDLE_MINUTES": ("session_idle_minutes", _integer),
    "SESSION_MAX_HOURS": ("session_max_hours", _integer),
    "LOGIN_MAX_FAILURES": ("login_max_failures", _integer),
    "LOGIN_WINDOW_SECONDS": ("login_window_seconds", _integer),
    "MAP_STYLE": ("map_style", str),
    "TRUSTED_PROXIES": ("trusted_proxies", _integer),
    "POSTGRES_PREPARED_STATEMENTS": ("postgres_prepared_statements", _switch),
}


def _development_secret() -> str:
    """A stable secret for `make run`: kept in var/ (git-ignored) so that restarts keep sessions valid."""
    path = PROJECT_ROOT / "var" / "dev-secret-key"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
    except OSError:
        return secrets.token_urlsafe(48)
