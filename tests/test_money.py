import pytest

from shopbot.money import MoneyError, format_price, from_api_value, parse_price, to_api_value


@pytest.mark.parametrize(
    ("text", "kopecks"),
    [
        ("1299", 129900),
        ("1299.00", 129900),
        ("1 299,00", 129900),
        ("1\u00a0299,5", 129950),
        ("1299 ₽", 129900),
        ("1299 руб.", 129900),
        ("0", 0),
        ("0,99", 99),
    ],
)
def test_parse_price_accepts_what_shops_write(text: str, kopecks: int) -> None:
    assert parse_price(text) == kopecks


@pytest.mark.parametrize("text", ["abc", "-5", "12.345", "", "1.2.3", "1e5", "1,299,00"])
def test_parse_price_refuses_nonsense(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_price(text)


def test_format_and_api_values_round_trip() -> None:
    assert format_price(129900) == "1\u00a0299\u00a0₽"
    assert format_price(5050) == "50,50\u00a0₽"
    assert to_api_value(129950) == "1299.50"
    assert from_api_value("1299.50") == 129950
    with pytest.raises(MoneyError):
        from_api_value("10.001")
