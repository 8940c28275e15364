"""The bot's settings: read once from .env and the environment into a frozen object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from webhook_app.config import EnvReader, Secret, read_env
from webhook_app.errors import ConfigError

ROUTE_SUFFIXES = ("/tradingview-to-webhook-order", "/tradingview-to-discord-study")


@dataclass(frozen=True)
class BotConfig:
    token: Secret
    passphrase: Secret
    app_url: str  # where the bot reaches webhook_app, e.g. http://127.0.0.1:8080
    channel_ids: frozenset[int]
    approver_role_ids: frozenset[int] = frozenset()
    approver_user_ids: frozenset[int] = frozenset()
    api_token: Secret | None = None
    study_webhook_id: int | None = None
    keepalive_port: int | None = None
    wait_s: float = 2.5

    def secrets(self) -> list[str]:
        values = [self.token.reveal(), self.passphrase.reveal()]
        if self.api_token:
            values.append(self.api_token.reveal())
        return values


def _ids(reader: EnvReader, name: str) -> frozenset[int]:
    raw = reader.env.get(name, "") or ""
    parts = [p.strip() for p in raw.replace(";", ",").split(",") if p.strip()]
    if not all(p.isdigit() for p in parts):
        raise ConfigError(f"{name} must be comma-separated Discord ids (numbers), got {raw!r}")
    return frozenset(int(p) for p in parts)


def load_bot_config(
    env: Mapping[str, str] | None = None, *, env_file: str | None = ".env"
) -> BotConfig:
    if env is None:
        env = read_env(env_file)
    reader = EnvReader(env)
    channels = _ids(reader, "DISCORD_CHANNEL_IDS")
    if not channels:
        raise ConfigError(
            "DISCORD_CHANNEL_IDS is required: the channel ids where the bot may trade"
        )
    roles, users = (
        _ids(reader, "DISCORD_APPROVER_ROLE_IDS"),
        _ids(reader, "DISCORD_APPROVER_USER_IDS"),
    )
    if not roles and not users:
        raise ConfigError(
            "set DISCORD_APPROVER_ROLE_IDS or DISCORD_APPROVER_USER_IDS, "
            "or nobody could approve a trade"
        )
    webhook = _ids(reader, "DISCORD_STUDY_WEBHOOK_ID")
    url = (reader.env.get("WEBHOOK_URL") or "http://127.0.0.1:8080").strip().rstrip("/")
    for suffix in ROUTE_SUFFIXES:  # the seed's WEBHOOK_URL pointed at the route itself
        url = url.removesuffix(suffix)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"WEBHOOK_URL must be the app's http(s) address, got {url!r}")
    keepalive = reader.env.get("KEEPALIVE_PORT", "").strip()
    return BotConfig(
        token=reader.required_secret("DISCORD_TOKEN"),
        passphrase=reader.required_secret("WEBHOOK_PASSPHRASE"),
        app_url=url,
        channel_ids=channels,
        approver_role_ids=roles,
        approver_user_ids=users,
        api_token=reader.optional_secret("API_TOKEN"),
        study_webhook_id=next(iter(webhook)) if webhook else None,
        keepalive_port=reader.integer("KEEPALIVE_PORT", 0, 0, 65535) if keepalive else None,
    )
