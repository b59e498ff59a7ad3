"""Typed settings from the environment and an optional ``.env`` file."""

from __future__ import annotations

import base64
import json
import re
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shopbot.services import support_hours
from shopbot.services.delivery import DeliveryOption, default_options, with_ids
from shopbot.services.reminders import QuietHours

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

    database_url: str = Field(
        "sqlite+aiosqlite:///shopbot.db",
        description="sqlite+aiosqlite:///FILE or postgresql+asyncpg://user@host/db",
    )
    media_dir: Path = Field(Path("media"), description="where processed product images are kept")
    bot_token: SecretStr | None = Field(None, description="the bot's token from @BotFather")
    admin_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="Telegram user ids of the shop's staff, comma-separated"
    )
    admin_chat_id: int | None = Field(
        None, description="a staff group for order alerts instead of each admin"
    )
    currency: Literal["RUB"] = Field("RUB", description="the shop's currency")
    support_chat_id: int | None = Field(
        None,
        description="the staff's forum group for talking to shoppers (default: ADMIN_CHAT_ID)",
    )
    support_hours: str = Field(
        "",
        description="when staff answer, e.g. Mon-Fri 09:00-20:00; Sat 10:00-16:00 "
        "(SHOP_TIMEZONE; empty: around the clock)",
    )
    support_remind_minutes: int = Field(
        30, ge=0, description="raise a conversation unanswered this long in working time (0: off)"
    )
    telegram_api_url: str | None = Field(
        None, description="base URL of a self-hosted Bot API server (official by default)"
    )
    telegram_webhook_url: str | None = Field(
        None,
        description="public https base URL: receive updates by webhook at URL/telegram/webhook",
    )
    telegram_webhook_secret: SecretStr | None = Field(
        None, description="the webhook's secret token, 1-256 of A-Z a-z 0-9 _ -"
    )
    telegram_webhook_max_connections: int = Field(
        40, ge=1, le=100, description="webhook requests Telegram may have open at once"
    )
    webapp_url: str | None = Field(
        None,
        description="public https base URL of the web server: the Mini App storefront at "
        "URL/app/, opened from the bot's menu button and its 🛍 buttons",
    )
    webapp_init_max_age: int = Field(
        3600, ge=60, description="seconds a Mini App's initData (auth_date) is accepted for"
    )
    webapp_rate_limit: str = Field(
        "120/minute",
        description="Mini App API calls per shopper (and refused sign-ins per address), "
        "as N/second|minute|hour",
    )
    redis_url: str | None = Field(None, description="keep conversation state in Redis")
    replicas: int = Field(
        1,
        ge=1,
        description="how many shopbot run processes serve the shop; above 1 they need "
        "PostgreSQL, REDIS_URL and shopbot migrate before start",
    )
    default_language: Literal["ru", "en"] = Field(
        "ru", description="ru or en: for people whose Telegram speaks neither"
    )
    shop_name: str = Field("shopbot", description="shown in the greeting and in /help")
    shop_contact: str = Field("", description="how to reach the shop, shown in /help")
    shop_timezone: ZoneInfo = Field(
        ZoneInfo("Europe/Moscow"), description="the shop's clock for every time shown (IANA name)"
    )
    low_stock_threshold: int = Field(
        3, ge=0, description="the staff are told when a product's stock falls to this"
    )
    order_payment_timeout: int = Field(
        60, ge=1, description="minutes an unpaid order holds its stock"
    )
    catalogue_cache_seconds: float = Field(
        2.0, ge=0, description="seconds another process's catalogue change may take to show; 0: off"
    )
    import_allow_private_urls: bool = Field(
        False, description="let image URLs point at this machine or a private network"
    )
    export_language: Literal["auto", "ru", "en"] = Field(
        "auto", description="the catalogue export's header words: auto (as last imported), ru, en"
    )
    delivery_options: Annotated[list[DeliveryOption], NoDecode] = Field(
        default_factory=default_options,
        min_length=1,
        description='JSON: [{"kind": "pickup" or "courier", "name", "address", "hours", '
        '"price", "free_from", "id"}], prices in roubles',
    )

    payment_provider: Literal["yookassa", "telegram", "cash"] = Field(
        "cash", description="yookassa, telegram or cash (pay on pickup or delivery)"
    )
    yookassa_shop_id: str | None = Field(None, description="the shop's YooKassa shop id")
    yookassa_secret_key: SecretStr | None = Field(None, description="the shop's YooKassa key")
    yookassa_return_url: str | None = Field(
        None, description="where the payment page sends the shopper back (https://t.me/<bot>)"
    )
    yookassa_api_url: str | None = Field(None, description="only to point at a test double")
    yookassa_receipts: bool = Field(False, description="attach a 54-FZ receipt to each payment")
    yookassa_vat_code: int = Field(1, ge=1, le=10, description="the receipt's VAT code")
    yookassa_tax_system_code: int | None = Field(
        None, ge=1, le=6, description="the receipt's tax system code"
    )
    yookassa_payment_subject: str = Field("commodity", description="receipt item attribute")
    yookassa_payment_mode: str = Field("full_payment", description="receipt item attribute")
    yookassa_trusted_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(YOOKASSA_NETWORKS),
        description="where payment notifications may come from, comma-separated",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="proxies whose X-Forwarded-For is believed"
    )
    telegram_provider_token: SecretStr | None = Field(
        None, description="@BotFather's payment token, for PAYMENT_PROVIDER=telegram"
    )
    web_host: str = Field("127.0.0.1", description="the web server's address")
    web_port: int = Field(8081, ge=0, le=65535, description="the web server's port")
    web_read_timeout: float = Field(
        10.0, gt=0, description="seconds a web client has to send its headers, then its body"
    )
    web_max_connections: int = Field(
        512, ge=1, description="open connections to the web server at most"
    )
    mailing_rate: float = Field(
        25.0,
        gt=0,
        le=30,
        description="messages a second a mailing sends, across replicas (Telegram allows ~30)",
    )
    reconcile_interval: int = Field(
        60, ge=1, description="seconds between payment reconciliation and order expiry passes"
    )
    metrics_token: SecretStr | None = Field(
        None, description="bearer token GET /metrics asks for (open when unset)"
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="text (for people) or json (one object per line)"
    )
    llm_api_url: str | None = Field(
        None,
        description="an OpenAI-compatible API (e.g. http://127.0.0.1:8000/v1) that answers "
        "questions the FAQ and search cannot, from the shop's own facts; needs shopbot[llm]",
    )
    llm_api_key: SecretStr | None = Field(None, description="the LLM API's key, if it asks for one")
    llm_model: str = Field("gpt-4o-mini", description="the model the LLM API is asked for")
    llm_timeout: float = Field(
        10, gt=0, le=60, description="seconds a shopper waits for the LLM before the usual answer"
    )
    semantic_search: bool = Field(
        False,
        description='search by meaning too ("носить ключи и телефон" finds the tote with a '
        "zip pocket) with the model shipped in shopbot[semantic]; EMBEDDINGS_URL turns it on too",
    )
    embeddings_url: str | None = Field(
        None,
        description="an OpenAI-compatible embeddings API (e.g. http://127.0.0.1:8080/v1): "
        "search by meaning uses it instead of the local model; needs shopbot[llm]",
    )
    embeddings_api_key: SecretStr | None = Field(
        None, description="the embeddings API's key, if it asks for one"
    )
    embeddings_model: str = Field(
        "text-embedding-3-small", description="the model the embeddings API is asked for"
    )
    embeddings_timeout: float = Field(
        2,
        gt=0,
        le=30,
        description="seconds a search waits for the embeddings API before "
        "answering from words alone",
    )
    abandoned_cart_hours: int = Field(
        24,
        ge=0,
        description="hours a subscriber's cart sits unchanged before one reminder; 0: none",
    )
    quiet_hours: Annotated[QuietHours, NoDecode] = Field(
        QuietHours.parse("22:00-09:00"),
        description="HH:MM-HH:MM on the shop's clock: no reminders then (postponed to its end)",
    )

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

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet_hours(cls, value: object) -> object:
        return QuietHours.parse(value) if isinstance(value, str) else value

    @field_validator("delivery_options", mode="before")
    @classmethod
    def _delivery_json(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:  # one line naming the setting, not a traceback
            raise ValueError(f"not JSON ({exc.msg} at character {exc.pos})") from None

    @field_validator("delivery_options")
    @classmethod
    def _delivery_ids(cls, value: list[DeliveryOption]) -> list[DeliveryOption]:
        return with_ids(value)

    @field_validator("support_hours")
    @classmethod
    def _support_hours(cls, value: str) -> str:
        support_hours.parse(value)
        return value

    @property
    def support_chat(self) -> int | None:
        """The chat where staff talk to shoppers: SUPPORT_CHAT_ID, else ADMIN_CHAT_ID."""
        return self.support_chat_id if self.support_chat_id is not None else self.admin_chat_id

    @cached_property
    def working_hours(self) -> support_hours.WorkingHours:
        return support_hours.parse(self.support_hours)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's own shape (and aiogram's check): digits, a colon, then the secret.
        if value is not None:
            bot_id, colon, secret = value.get_secret_value().partition(":")
            if not (colon and bot_id.isdigit() and secret) or any(c.isspace() for c in secret):
                raise ValueError(
                    "not a bot token (it looks like 123456789:AAE..., from @BotFather)"
                )
        return value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", value):
            raise ValueError("must be a URL such as https://shop.example.com (no query)")
        return value.rstrip("/") if value else None

    @field_validator("webapp_url")
    @classmethod
    def _webapp_url(cls, value: str | None) -> str | None:
        """https, as Telegram requires; http only on this machine (Telegram's test
        environment takes it, and the demo runs there)."""
        if not value:
            return None
        match = re.fullmatch(r"(https?)://([^/\s?#:]+)(:\d+)?(/[^\s?#]*)?", value)
        if match is None or (match[1] == "http" and match[2] not in ("127.0.0.1", "localhost")):
            raise ValueError("must be an https URL such as https://shop.example.com (no query)")
        return value.rstrip("/")

    @field_validator("webapp_rate_limit")
    @classmethod
    def _webapp_rate_limit(cls, value: str) -> str:
        if not re.fullmatch(r"\s*[1-9]\d*\s*/\s*(second|minute|hour)\s*", value):
            raise ValueError("must be N/second, N/minute or N/hour, e.g. 120/minute")
        return value.replace(" ", "")

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("1 to 256 characters, each a letter A-Z or a-z, a digit, _ or -")
        return value

    @model_validator(mode="after")
    def _webhook_secret_given(self) -> Settings:
        if self.telegram_webhook_url and self.telegram_webhook_secret is None:
            raise ValueError("TELEGRAM_WEBHOOK_SECRET is required with TELEGRAM_WEBHOOK_URL")
        return self

    @model_validator(mode="after")
    def _provider_credentials(self) -> Settings:
        if self.payment_provider == "yookassa" and not (
            self.yookassa_shop_id and self.yookassa_secret_key
        ):
            missing = [
                name
                for name, value in (
                    ("YOOKASSA_SHOP_ID", self.yookassa_shop_id),
                    ("YOOKASSA_SECRET_KEY", self.yookassa_secret_key),
                )
                if not value
            ]
            verb = "are" if len(missing) > 1 else "is"
            names = " and ".join(missing)
            raise ValueError(f"{names} {verb} required with PAYMENT_PROVIDER=yookassa")
        if self.payment_provider == "telegram" and not self.telegram_provider_token:
            raise ValueError("TELEGRAM_PROVIDER_TOKEN is required with PAYMENT_PROVIDER=telegram")
        return self

    @cached_property
    def trusted_networks(self) -> list[IPv4Network | IPv6Network]:
        return [ip_network(item, strict=False) for item in self.yookassa_trusted_networks]

    @cached_property
    def proxy_networks(self) -> list[IPv4Network | IPv6Network]:
        return [ip_network(item, strict=False) for item in self.trusted_proxies]

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids

    def secret_values(self) -> list[str]:
        """Every secret as it could appear in a log line: the secret settings, the database
        password, YooKassa's credentials as its client sends them (base64)."""
        values = [
            secret.get_secret_value()
            for name in SECRETS
            if (secret := getattr(self, name)) is not None
        ]
        password = urlsplit(self.database_url).password
        if password:
            values += [password, unquote(password)]
        if self.yookassa_shop_id and self.yookassa_secret_key:
            basic = f"{self.yookassa_shop_id}:{self.yookassa_secret_key.get_secret_value()}"
            values.append(base64.b64encode(basic.encode()).decode("ascii"))
        return values


SECRETS = frozenset(
    name for name, field in Settings.model_fields.items() if field.annotation == SecretStr | None
)


def env_example() -> str:
    """The text of ``.env.example``: every setting, commented out at its default, with what it
    means (``python -m shopbot.config > .env.example`` writes it; a test keeps it current)."""
    lines = [
        "# shopbot's settings: copy this file to .env and set what you need (README:",
        "# Configuration). Each line shows the default; the environment wins over this file.",
    ]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, list):
            value = ",".join(str(item) for item in default)
        elif isinstance(default, bool):
            value = str(default).lower()
        else:
            value = "" if default is None else str(default)
        secret = " (secret)" if name in SECRETS else ""
        lines += ["", f"# {field.description}{secret}", f"# {name.upper()}={value}"]
    return "\n".join(lines) + "\n"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line that names the variable."""


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's report into one readable line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if error["loc"]:
                name = str(error["loc"][0]).upper()
                # Where inside a structured value (DELIVERY_OPTIONS[2].price): 1-based
                name += "".join(
                    f"[{part + 1}]" if isinstance(part, int) else f".{part}"
                    for part in error["loc"][1:]
                )
                problems.append(f"{name}: {message}")
            else:  # a rule about several settings names them in its message
                problems.append(message)
        raise SettingsError("invalid setting " + "; ".join(problems)) from None


if __name__ == "__main__":
    print(env_example(), end="")
