import pytest

from shopbot.config import SettingsError, load_settings


def test_defaults_and_comma_separated_admins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, 22,333")
    monkeypatch.setenv("BOT_TOKEN", "123:TOPSECRET")
    settings = load_settings()
    assert settings.admin_ids == [1, 22, 333]
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.currency == "RUB"
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
