import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shopbot.config import Settings, SettingsError, env_example, load_settings


def test_defaults_and_comma_separated_admins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, 22,333")
    monkeypatch.setenv("BOT_TOKEN", "123:TOPSECRET")
    settings = load_settings()
    assert settings.admin_ids == [1, 22, 333]
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.currency == "RUB"
    assert settings.shop_timezone == ZoneInfo("Europe/Moscow")
    assert "TOPSECRET" not in repr(settings) and "TOPSECRET" not in str(settings.model_dump())
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == "123:TOPSECRET"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ADMIN_IDS", "1,abc"),
        ("DATABASE_URL", "mysql://x"),
        ("ORDER_PAYMENT_TIMEOUT", "soon"),
        ("YOOKASSA_TRUSTED_NETWORKS", "not-a-network"),
        ("SHOP_TIMEZONE", "UTC+3"),
        ("SHOP_TIMEZONE", "Europe/Moskva"),
    ],
)
def test_bad_setting_gives_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert name in message and "\n" not in message


@pytest.mark.parametrize("token", ["abc", "123456", "abc:def", "123:", "123: secret"])
def test_a_token_not_shaped_like_telegrams_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", token)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("invalid setting BOT_TOKEN: not a bot token") and "\n" not in message


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"PAYMENT_PROVIDER": "yookassa"},
            "YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY are required with PAYMENT_PROVIDER=yookassa",
        ),
        (
            {"PAYMENT_PROVIDER": "yookassa", "YOOKASSA_SHOP_ID": "100500"},
            "YOOKASSA_SECRET_KEY is required with PAYMENT_PROVIDER=yookassa",
        ),
        (
            {"PAYMENT_PROVIDER": "telegram"},
            "TELEGRAM_PROVIDER_TOKEN is required with PAYMENT_PROVIDER=telegram",
        ),
    ],
)
def test_a_payment_provider_without_its_credentials_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name in ("YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY", "TELEGRAM_PROVIDER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value) == f"invalid setting {expected}"


ROOT = Path(__file__).resolve().parents[1]


def test_env_example_is_generated_from_the_settings() -> None:
    """Regenerate with ``python -m shopbot.config > .env.example``."""
    assert (ROOT / ".env.example").read_text(encoding="utf-8") == env_example()
    for name in Settings.model_fields:
        assert f"# {name.upper()}=" in env_example()


def test_readme_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    listed = {
        name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])
    }
    assert listed == {name.upper() for name in Settings.model_fields}
