"""Layered configuration: config.yaml defaults → SHELI_CONFIG file → SHELI_* environment → test overrides."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = PROJECT_ROOT / "config.yaml"
ENV_PREFIX = "SHELI_"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}

# Keys whose values must be durations; checked at load so a typo fails at start-up, not at 3 a.m.
DURATION_KEYS = (
    "wechat.replay_window",
    "wechat.token_timeout",
    "nlu.rasa_timeout",
    "conversation.state_ttl",
    "conversation.reply_window",
    "conversation.ticket_window",
    "conversation.message_window",
    "staff.bind_code_ttl",
    "followup.delay",
    "followup.expire",
    "outbox.backoff",
    "outbox.poll_interval",
    "media.backoff",
    "scheduler.tick",
    "scheduler.lease",
)

# Keys whose values must be whole numbers ≥ 0.
COUNT_KEYS = (
    "server.trusted_proxies",
    "outbox.max_unknown",
    "media.max_attempts",
    "conversation.max_new_tickets",
    "conversation.max_messages",
)


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the key."""


def parse_duration(value: Any, key: str = "value") -> timedelta:
    """Parse `90s`, `30m`, `24h`, `3d` (or a number of seconds) into a timedelta."""
    if isinstance(value, bool):
        raise ConfigError(f"{key}: {value!r} is not a duration like 90s, 30m, 24h or 3d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ConfigError(f"{key}: {value!r} is not a duration like 90s, 30m, 24h or 3d")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < 0:
        raise ConfigError(f"{key}: {value!r} must not be negative")
    return timedelta(seconds=seconds)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"SHELI_CONFIG: no such file {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return data


def _env_value(raw: str, current: Any) -> Any:
    if isinstance(current, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    if isinstance(current, str) or current is None:
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name or name == "SHELI_CONFIG":
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        node = data
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = _env_value(raw, node.get(path[-1]))


class Config:
    """Read-only view of the merged configuration, addressed by dotted paths."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        for key in DURATION_KEYS:
            if self.get(key) is not None:
                self.duration(key)
        recipients = self.get("summary.recipients")
        if isinstance(recipients, str):
            self.data["summary"]["recipients"] = [r.strip() for r in recipients.split(",") if r]
        self._check_roles()
        self._check_dashboard_users()
        for key in COUNT_KEYS:
            value = self.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ConfigError(f"{key}: {value!r} is not a whole number of 0 or more")

    def _check_roles(self) -> None:
        roles = self.get("roles") or {}
        for intent, role in (self.get("routing") or {}).items():
            if role not in roles:
                raise ConfigError(
                    f"routing.{intent}: unknown role {role!r} (known: {', '.join(roles)})"
                )
        inform = self.get("inform") or {}
        if not isinstance(inform, dict):
            raise ConfigError("inform: expected intent: [role, ...]")
        for intent, told in inform.items():
            for role in [told] if isinstance(told, str) else list(told or ()):
                if role not in roles:
                    raise ConfigError(
                        f"inform.{intent}: unknown role {role!r} (known: {', '.join(roles)})"
                    )

    def _check_dashboard_users(self) -> None:
        """dashboard.users: a list of {username, password_hash, community (optional)}, each
        username once (and not the one of dashboard.username)."""
        users = self.get("dashboard.users") or []
        if not isinstance(users, list):
            raise ConfigError("dashboard.users: expected a list of {username, password_hash}")
        seen = {str(self.get("dashboard.username") or "admin")}
        for i, user in enumerate(users):
            where = f"dashboard.users[{i}]"
            if not isinstance(user, dict) or set(user) - {"username", "password_hash", "community"}:
                raise ConfigError(f"{where}: expected username, password_hash and community")
            name = user.get("username")
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{where}.username: required")
            if name in seen:
                raise ConfigError(f"{where}.username: {name!r} is used twice")
            seen.add(name)
            for key in ("password_hash", "community"):
                if user.get(key) is not None and not isinstance(user[key], str):
                    raise ConfigError(f"{where}.{key}: expected text")

    def get(self, path: str, default: Any = None) -> Any:
        """The value at a dotted path such as `wechat.token`, or `default`."""
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def require(self, path: str) -> Any:
        """The value at `path`; a ConfigError naming the key if it is missing or empty."""
        value = self.get(path)
        if value in (None, ""):
            raise ConfigError(f"{path}: required but not set")
        return value

    def duration(self, path: str) -> timedelta:
        """The duration at `path`."""
        return parse_duration(self.require(path), path)

    def seconds(self, path: str) -> float:
        """The duration at `path` in seconds."""
        return self.duration(path).total_seconds()

    @property
    def local_mode(self) -> bool:
        """True when no WeChat app id is set: outbound messages go to the built-in inbox."""
        return not self.get("wechat.app_id")

    @property
    def media_dir(self) -> Path:
        """Where photos and voice notes are kept; a relative path is taken from the project folder."""
        path = Path(str(self.get("media.dir") or "var/media/"))
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def nlu_cache_dir(self) -> Path:
        """Where the service and `sheli nlu train` keep trained embedded models (`nlu.cache_dir`;
        a relative path is taken from the project folder)."""
        path = Path(str(self.get("nlu.cache_dir") or "var/nlu-cache"))
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL; relative SQLite paths are resolved against the project folder."""
        url = str(self.require("database.url"))
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            path = PROJECT_ROOT / url[len(prefix) :]
            path.parent.mkdir(parents=True, exist_ok=True)
            return prefix + str(path)
        return url


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Build the configuration from defaults, SHELI_CONFIG, the environment and overrides.

    `overrides` uses dotted keys (`{"followup.delay": "3s"}`) or nested mappings.
    """
    environ = os.environ if environ is None else environ
    data = _load_yaml(DEFAULTS_FILE)
    extra = environ.get("SHELI_CONFIG")
    if extra:
        _merge(data, _load_yaml(Path(extra)))
    _apply_env(data, environ)
    for key, value in (overrides or {}).items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if isinstance(value, Mapping) and isinstance(node.get(parts[-1]), dict):
            _merge(node[parts[-1]], value)
        else:
            node[parts[-1]] = value
    return Config(data)
