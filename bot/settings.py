"""Settings read from the environment or `.env`, validated before anything starts."""

from __future__ import annotations

import logging
import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.textinput import link_problem

# More workers than this would only add database connections and memory.
MAX_WORKERS = 64

# Values people paste from docs and forget to replace.
PLACEHOLDERS = {"changeme", "change-me", "xxx", "todo", "your-token", "secret", "placeholder"}


class RunMode(StrEnum):
    """How `bridgebot run` talks to the outside world, derived from which credentials are set."""

    SLACK_SOCKET = "slack-socket"
    SLACK_HTTP = "slack-http"
    SLACK_OAUTH = "slack-oauth"
    CONSOLE = "console"


def _reject_placeholder(value: SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    raw = value.get_secret_value().strip()
    lowered = raw.lower()
    if lowered in PLACEHOLDERS or "your-" in lowered or lowered.endswith("..."):
        raise ValueError("looks like a placeholder; paste the real value from the Slack app page")
    return SecretStr(raw)


class Settings(BaseSettings):
    """Every setting in the product specification; names match the environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", case_sensitive=False
    )

    database_url: str = "sqlite:///bridgebot.db"

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_state_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    teams_app_id: str | None = None
    teams_app_password: SecretStr | None = None
    teams_tenant_id: str | None = None
    # A user-assigned managed identity's client id, in place of TEAMS_APP_PASSWORD.
    teams_managed_identity_client_id: str | None = None

    bridgebot_host: str = "127.0.0.1"
    bridgebot_port: int = Field(default=3000, ge=1, le=65535)
    # Worker processes `bridgebot run` serves with, sharing the port; unset: one per core
    # (one on SQLite, see `workers`).
    bridgebot_workers: int | None = Field(default=None, ge=1, le=MAX_WORKERS)
    # Where people reach this server (calendar subscribe links); defaults to host:port.
    bridgebot_public_url: str | None = None
    # Larger request bodies get 413 before they are read (Slack's are a few KB).
    bridgebot_max_body_bytes: int = Field(default=1024 * 1024, ge=16 * 1024, le=64 * 1024 * 1024)
    # A slash command whose answer would come later than this many seconds (work queued
    # behind acks) is refused at its acknowledgement: "bridgebot is busy".
    bridgebot_busy_after_seconds: float = Field(default=1.0, ge=0.1, le=600)
    # Where each server process listens for change notices (PostgreSQL LISTEN): by default
    # DATABASE_URL. Behind PgBouncer in transaction mode, which cannot carry LISTEN, a URL
    # to PostgreSQL itself; "off" listens nowhere (every lookup then reads the revision).
    bridgebot_listen_url: str | None = None
    # GET /metrics answers only with "Authorization: Bearer <token>" when set.
    bridgebot_metrics_token: SecretStr | None = None
    # Serve /openapi.json, /docs and /redoc (off: they describe the server to anyone).
    bridgebot_api_docs: bool = False
    bridgebot_timezone: str = "UTC"
    bridgebot_admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    bridgebot_secret_key: SecretStr | None = None
    # Used when BRIDGEBOT_SECRET_KEY is unset; see `secret_key_file`.
    bridgebot_secret_key_file: Path | None = None
    # How late a scheduled message may still go out after the bot was down.
    bridgebot_grace_minutes: int = Field(default=30, ge=0, le=24 * 60)
    # How long a claimed delivery stays with one instance before another may take it over.
    bridgebot_claim_lease_seconds: int = Field(default=120, ge=1, le=3600)
    # Posts to shared channels (wins, challenges, quick polls) one person, or one
    # workspace, may make in a while: a burst of them buries everything else.
    bridgebot_posts_per_person_minute: int = Field(default=5, ge=1, le=1000)
    bridgebot_posts_per_person_day: int = Field(default=30, ge=1, le=10000)
    bridgebot_posts_per_workspace_hour: int = Field(default=60, ge=1, le=10000)
    # Where the console saves files it is given (exports, calendars, CSVs); a file of the
    # same name already there is kept and the new one numbered.
    bridgebot_files_dir: Path = Path("bridgebot-files")

    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL such as sqlite:///bridgebot.db") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("only sqlite:// and postgresql:// URLs are supported")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _valid_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"

    @field_validator("bridgebot_public_url")
    @classmethod
    def _valid_public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http://)")
        # It becomes the target of calendar links shown in Slack's <url|label> form.
        if link_problem(value):
            raise ValueError("must be a plain address, without spaces, |, < or >")
        return value.rstrip("/")

    @property
    def public_url(self) -> str:
        """The base URL for links to this server."""
        return self.bridgebot_public_url or f"http://{self.bridgebot_host}:{self.bridgebot_port}"

    @property
    def secret_key_file(self) -> Path:
        """Where the key is kept when BRIDGEBOT_SECRET_KEY is unset: created on first run
        (mode 0600) in the working directory, like the default SQLite database."""
        return self.bridgebot_secret_key_file or Path("bridgebot.key")

    @field_validator("bridgebot_timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone such as Europe/London") from None
        return value

    @field_validator("bridgebot_admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _valid_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "slack_client_secret",
        "slack_state_secret",
        "teams_app_password",
        "bridgebot_secret_key",
        "bridgebot_metrics_token",
    )
    @classmethod
    def _no_placeholders(cls, value: SecretStr | None) -> SecretStr | None:
        return _reject_placeholder(value)

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @model_validator(mode="after")
    def _complete_slack_credentials(self) -> Settings:
        if self.slack_client_id or self.slack_client_secret:
            for name in ("slack_client_id", "slack_client_secret", "slack_signing_secret"):
                if not getattr(self, name):
                    raise _missing(name, "is required for multi-workspace OAuth")
        elif self.slack_bot_token and not self.slack_app_token and not self.slack_signing_secret:
            raise _missing(
                "slack_signing_secret", "is required for HTTP mode (or set SLACK_APP_TOKEN)"
            )
        elif self.slack_app_token and not self.slack_bot_token:
            raise _missing("slack_bot_token", "is required with SLACK_APP_TOKEN (Socket Mode)")
        return self

    @model_validator(mode="after")
    def _workers_fit_database(self) -> Settings:
        if (self.bridgebot_workers or 1) > 1 and self.database_is_sqlite:
            # Every worker runs the scheduler, whose claims need row locks SQLite lacks,
            # and SQLite lets one process write at a time anyway.
            raise SettingError(
                f"BRIDGEBOT_WORKERS: is {self.bridgebot_workers}, but SQLite serves with one "
                "worker; use PostgreSQL in DATABASE_URL for more"
            )
        return self

    @property
    def database_is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    @property
    def workers(self) -> int:
        """How many worker processes `bridgebot run` serves with: BRIDGEBOT_WORKERS, else
        one per core this process may use on PostgreSQL, and one on SQLite."""
        if self.bridgebot_workers is not None:
            return self.bridgebot_workers
        if self.database_is_sqlite:
            return 1
        return max(1, min(MAX_WORKERS, usable_cores()))

    @property
    def run_mode(self) -> RunMode:
        """Which adapter `bridgebot run` starts."""
        if self.slack_client_id:
            return RunMode.SLACK_OAUTH
        if self.slack_bot_token and self.slack_app_token:
            return RunMode.SLACK_SOCKET
        if self.slack_bot_token:
            return RunMode.SLACK_HTTP
        return RunMode.CONSOLE


def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class SettingError(ValueError):
    """A setting is missing or invalid; `str()` is the one line shown to the operator."""


def _missing(field: str, why: str) -> SettingError:
    return SettingError(f"{field.upper()} {why}")


def describe_validation_error(error: ValidationError) -> str:
    """Turn pydantic's report into one line naming the setting and what is wrong."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in first.get("loc", ()) if part != "__root__")
    message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    if not location:
        return message
    value = first.get("input")
    shown = (
        ""
        if isinstance(value, dict)
        or value is None
        or "secret" in location
        or "token" in location
        or "password" in location
        else f" (got {value!r})"
    )
    return f"{location.upper()}: {message}{shown}"


@lru_cache
def get_settings() -> Settings:
    """The process's settings; only the command line calls this."""
    return Settings()
