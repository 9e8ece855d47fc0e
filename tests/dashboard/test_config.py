"""Configuration: the README documents every variable the code reads, and bad values are refused."""
from __future__ import annotations

import re

import pytest

from dashboard.config import ENVIRONMENT, PROJECT_ROOT, ConfigError, Settings


def test_readme_documents_every_environment_variable():
    readme = (PROJECT_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, re.M))
    assert set(ENVIRONMENT) - documented == set()
    assert documented - set(ENVIRONMENT) == set()


@pytest.mark.parametrize("env", [
    {"MIN_CELL_SIZE": "ten"}, {"MIN_CELL_SIZE": "1"}, {"CLIENT_DATE_PRECISION": "month"}, {"APP_ENV": "staging"},
    {"INTERNAL_VISIBILITY": "Humana=secret"}, {"POSTGRES_PREPARED_STATEMENTS": "sometimes"},
])
def test_bad_values_are_refused(env):
    with pytest.raises(ConfigError):
        Settings.from_env(env=env)


def test_visibility_defaults_follow_the_request():
    settings = Settings.from_env(env={})
    assert settings.visibility_of("UnitedHealthcare") == "aggregate"
    assert settings.visibility_of("NO_INSURANCE") == "aggregate"
    assert settings.visibility_of("Humana") == "detail"


@pytest.mark.parametrize("value, expected", [("off", False), ("OFF", False), ("0", False), ("on", True),
                                             ("true", True)])
def test_prepared_statements_are_on_unless_switched_off(value, expected):
    assert Settings.from_env(env={}).postgres_prepared_statements is True
    assert Settings.from_env(env={"POSTGRES_PREPARED_STATEMENTS": value}).postgres_prepared_statements is expected
