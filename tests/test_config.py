import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shopbot.config import Settings, SettingsError, env_example, load_settings
from shopbot.models import DeliveryMethod


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


def test_delivery_options_read_as_owners_write_them(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [(o.id, o.kind, o.price) for o in load_settings(_env_file=None).delivery_options] == [
        ("pickup", DeliveryMethod.PICKUP, 0),
        ("courier", DeliveryMethod.COURIER, 0),
    ]
    monkeypatch.setenv(
        "DELIVERY_OPTIONS",
        '[{"kind": "pickup", "name": "Покровка", "address": "ул. Покровка, 12",'
        ' "hours": "10–21"}, {"kind": "courier", "price": "1 299,50", "free_from": 3000},'
        ' {"id": "far", "kind": "courier", "price": 990}]',
    )
    pickup, courier, far = load_settings(_env_file=None).delivery_options
    assert (pickup.id, pickup.pickup_point, pickup.price_for(0)) == (
        "1",
        "ул. Покровка, 12 · 10–21",
        0,
    )
    assert (courier.id, courier.price, courier.free_from) == ("2", 129950, 300000)
    assert (courier.price_for(299999), courier.price_for(300000)) == (129950, 0)
    assert (far.id, far.price_for(10**9), far.pickup_point) == ("far", 99000, None)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("pickup, courier", "DELIVERY_OPTIONS: not JSON"),
        ("[]", "DELIVERY_OPTIONS: List should have at least 1 item"),
        ('[{"kind": "pickup"}, {"kind": "drone"}]', "DELIVERY_OPTIONS[2].kind"),
        ('[{"kind": "courier", "price": "дёшево"}]', "DELIVERY_OPTIONS[1].price"),
        ('[{"kind": "courier", "price": -5}]', "DELIVERY_OPTIONS[1].price"),
        ('[{"kind": "courier", "address": "ул. Ленина, 1"}]', "only a pickup point has an address"),
        ('[{"kind": "courier", "id": "a"}, {"kind": "pickup", "id": "a"}]', "an id of its own"),
        ('[{"kind": "courier", "id": "a:b"}]', "DELIVERY_OPTIONS[1].id"),
        ('[{"kind": "courier", "prise": 350}]', "DELIVERY_OPTIONS[1].prise"),
    ],
)
def test_bad_delivery_options_give_one_line_saying_where(
    monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    monkeypatch.setenv("DELIVERY_OPTIONS", value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert says in message and "\n" not in message
