"""Domain errors: each carries what a caller needs to explain the problem to a person."""

from __future__ import annotations

from shopbot.i18n import Text


class ShopError(Exception):
    """Base of everything the services refuse to do, with a stable ``code``."""

    code = "shop_error"


class ProductNotFound(ShopError):
    code = "product_not_found"

    def __init__(self, ref: int | str) -> None:
        super().__init__(f"no product {ref!r}")
        self.ref = ref


class ProductUnavailable(ShopError):
    """The product exists but is hidden from sale."""

    code = "product_unavailable"

    def __init__(self, product_id: int, name: str) -> None:
        super().__init__(f"product {name!r} is not on sale")
        self.product_id = product_id
        self.name = name


class OutOfStock(ShopError):
    code = "out_of_stock"

    def __init__(self, product_id: int, name: str, available: int) -> None:
        super().__init__(f"only {available} of {name!r} available")
        self.product_id = product_id
        self.name = name
        self.available = available


class CartFull(ShopError):
    """The cart already holds as many different products as a cart may."""

    code = "cart_full"

    def __init__(self, limit: int) -> None:
        super().__init__(f"a cart holds at most {limit} different products")
        self.limit = limit


class FavouritesFull(ShopError):
    """The shopper keeps as many favourites as one may."""

    code = "favourites_full"

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} favourites")
        self.limit = limit


class EmptyCart(ShopError):
    code = "empty_cart"


class OrderNotFound(ShopError):
    code = "order_not_found"


class IllegalTransition(ShopError):
    code = "illegal_transition"

    def __init__(self, order_id: int, current: str | None, target: str) -> None:
        super().__init__(f"order {order_id}: cannot go from {current} to {target}")
        self.order_id = order_id
        self.current = current
        self.target = target


class TotalChanged(ShopError):
    """The order would cost other than the summary the shopper confirmed said (a sale ended,
    a price changed in between): nothing is placed, the shopper sees the new summary."""

    code = "total_changed"

    def __init__(self, total: int, shown: int) -> None:
        super().__init__(f"order total {total} differs from the {shown} shown")
        self.total = total
        self.shown = shown


class OrderTooLarge(ShopError):
    """The cart's total is more than the payment provider accepts in one payment."""

    code = "order_too_large"

    def __init__(self, total: int, limit: int) -> None:
        super().__init__(f"order total {total} is above the limit of {limit}")
        self.total = total
        self.limit = limit


class PriceChanged(ShopError):
    """The price is no longer the one a confirmation was asked for."""

    code = "price_changed"

    def __init__(self, sku: str, price: int) -> None:
        super().__init__(f"{sku}: the price is now {price}")
        self.sku = sku
        self.price = price


class StockWouldGoNegative(ShopError):
    code = "stock_negative"

    def __init__(self, sku: str, stock: int, delta: int) -> None:
        super().__init__(f"{sku}: stock {stock} cannot change by {delta}")
        self.sku = sku
        self.stock = stock
        self.delta = delta


class StartupError(Exception):
    """The shop cannot start (a service it needs does not answer); one line for the person
    starting it, translated where it is a :class:`~shopbot.i18n.Text`."""

    def __init__(self, problem: str | Text) -> None:
        super().__init__(str(problem))
        self.problem = problem

    def render(self, language: str) -> str:
        return self.problem.render(language) if isinstance(self.problem, Text) else self.problem
