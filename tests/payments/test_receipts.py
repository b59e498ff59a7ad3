"""54-FZ receipts built from orders (pure: no database, no HTTP)."""

from __future__ import annotations

import pytest

from shopbot.models import Order, OrderLine
from shopbot.payments.base import PaymentError
from shopbot.payments.yookassa import build_receipt, receipt_phone
from tests.payments.conftest import make_settings


def order_of(*lines: OrderLine, delivery: int = 0, phone: str = "+7 900 123-45-67") -> Order:
    subtotal = sum(line.unit_price * line.quantity for line in lines)
    return Order(
        id=7,
        number="1007",
        total=subtotal + delivery,
        subtotal=subtotal,
        delivery_price=delivery,
        currency="RUB",
        contact_phone=phone,
        lines=list(lines),
    )


def line(name: str, unit_price: int, quantity: int, vat_code: int | None = None) -> OrderLine:
    return OrderLine(
        sku="S", name=name, unit_price=unit_price, quantity=quantity, vat_code=vat_code
    )


def test_items_add_up_to_the_order_total() -> None:
    order = order_of(line("Кружка", 33333, 3, vat_code=4), line("Чай", 45050, 1))

    receipt = build_receipt(order, make_settings(yookassa_vat_code=1))

    assert receipt == {
        "customer": {"phone": "79001234567"},
        "items": [
            {
                "description": "Кружка",
                "quantity": "3",
                "amount": {"value": "333.33", "currency": "RUB"},
                "vat_code": 4,
                "payment_subject": "commodity",
                "payment_mode": "full_payment",
            },
            {
                "description": "Чай",
                "quantity": "1",
                "amount": {"value": "450.50", "currency": "RUB"},
                "vat_code": 1,
                "payment_subject": "commodity",
                "payment_mode": "full_payment",
            },
        ],
    }
    total = sum(
        round(float(item["amount"]["value"]) * 100) * int(item["quantity"])
        for item in receipt["items"]
    )
    assert total == order.total


def test_settings_shape_the_items_and_tax_system() -> None:
    settings = make_settings(
        yookassa_vat_code=6,
        yookassa_tax_system_code=2,
        yookassa_payment_subject="service",
        yookassa_payment_mode="full_prepayment",
    )

    receipt = build_receipt(order_of(line("Ремонт", 100000, 1)), settings)

    assert receipt["tax_system_code"] == 2
    (item,) = receipt["items"]
    assert (item["vat_code"], item["payment_subject"], item["payment_mode"]) == (
        6,
        "service",
        "full_prepayment",
    )


def test_long_names_are_cut_to_128() -> None:
    receipt = build_receipt(order_of(line("Я" * 300, 100, 1)), make_settings())

    assert receipt["items"][0]["description"] == "Я" * 128


def test_delivery_is_an_item_of_its_own() -> None:
    receipt = build_receipt(order_of(line("Кружка", 45000, 2), delivery=39900), make_settings())

    assert [(i["description"], i["amount"]["value"]) for i in receipt["items"]] == [
        ("Кружка", "450.00"),
        ("Доставка", "399.00"),
    ]


def test_a_receipt_that_does_not_add_up_is_refused() -> None:
    order = order_of(line("Кружка", 45000, 2))
    order.total += 1

    with pytest.raises(PaymentError, match="add up"):
        build_receipt(order, make_settings())


@pytest.mark.parametrize(
    ("phone", "digits"),
    [
        ("+79001234567", "79001234567"),
        ("8 (900) 123-45-67", "79001234567"),
        ("900 123 45 67", "79001234567"),
        ("+375 29 123-45-67", "375291234567"),
    ],
)
def test_phone_is_digits_with_the_country_code(phone: str, digits: str) -> None:
    assert receipt_phone(phone) == digits
