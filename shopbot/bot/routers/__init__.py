"""One router per area of the shop; ``build_root_router`` puts them in handling order."""

from __future__ import annotations

from aiogram import Router

from shopbot.bot.routers import cart, catalog, checkout, fallback, orders, search, start


def build_root_router() -> Router:
    root = Router(name="shopbot")
    # checkout first: while a shopper is in checkout, their typed text belongs to it.
    root.include_routers(
        checkout.router,
        start.router,
        catalog.router,
        cart.router,
        orders.router,
        search.router,
        fallback.router,
    )
    return root
