"""Typed settings from the environment and an optional ``.env`` file."""

from __future__ import annotations

from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

YOOKASSA_NETWORKS = (
    "77.75.153.0/25",
    "77.75.156.11/32",
    "77.75.156.35/32",
    "77.75.154.128/25",
    "185.71.76.0/27",
    "185.71.77.0/27",
    "2a02:5180::/32",
)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


class Settings(BaseSettings):
    """Everything shopbot reads from its environment. Secrets are ``SecretStr``: never logged."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///shopbot.db"
    media_dir: Path = Path("media")
    bot_token: SecretStr | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_chat_id: int | None = None
    currency: Literal["RUB"] = "RUB"
    telegram_api_url: str | None = None
    redis_url: str | None = None
    default_language: Literal["ru", "en"] = "ru"
    shop_name: str = "shopbot"
    shop_contact: str = ""
    low_stock_threshold: int = Field(default=3, ge=0)
    order_payment_timeout: int = Field(default=60, ge=1, description="minutes")
    catalogue_cache_seconds: float = Field(default=2.0, ge=0, description="0 turns it off")
    import_allow_private_urls: bool = False

    payment_provider: Literal["yookassa", "telegram", "cash"] = "cash"
    yookassa_shop_id: str | None = None
    yookassa_secret_key: SecretStr | None = None
    yookassa_return_url: str | None = None
    yookassa_api_url: str | None = None
    yookassa_receipts: bool = False
    yookassa_vat_code: int = Field(default=1, ge=1, le=10)
    yookassa_tax_system_code: int | None = Field(default=None, ge=1, le=6)
    yookassa_payment_subject: str = "commodity"
    yookassa_payment_mode: str = "full_payment"
    yookassa_trusted_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(YOOKASSA_NETWORKS)
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    telegram_provider_token: SecretStr | None = None
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8081, ge=0, le=65535)
    web_read_timeout: float = Field(default=10.0, gt=0, description="seconds")
    web_max_connections: int = Field(default=512, ge=1)
    reconcile_interval: int = Field(default=60, ge=1, description="seconds")

    @field_validator("admin_ids", "yookassa_trusted_networks", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("yookassa_trusted_networks", "trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ip_network(item, strict=False)
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @cached_property
    def trusted_networks(self) -> list[IPv4Network | IPv6Network]:
        return [ip_network(item, strict=False) for item in self.yookassa_trusted_networks]

    @cached_property
    def proxy_networks(self) -> list[IPv4Network | IPv6Network]:
        return [ip_network(item, strict=False) for item in self.trusted_proxies]

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line that names the variable."""


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's report into one readable line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid setting " + "; ".join(problems)) from None
