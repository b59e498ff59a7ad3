"""One router per area of the shop; ``build_root_router`` puts them in handling order.

Routers are built fresh for each dispatcher (an aiogram router can belong to one parent
only), so several dispatchers can live in one process — tests, a restart, the demo.
"""

from __future__ import annotations

from aiogram import Router

from shopbot.bot.routers import (
    admin,
    cart,
    catalog,
    checkout,
    fallback,
    favourites,
    handoff,
    inline,
    mailing_links,
    marketing,
    orders,
    payments,
    promo_checkout,
    promotions,
    ratings,
    search,
    staff_desk,
    start,
    support,
)
from shopbot.bot.routers.prompts import LeavePrompts


def build_root_router() -> Router:
    root = Router(name="shopbot")
    root.message.outer_middleware(LeavePrompts(checkout.CheckoutForm))
    # The search prompt lasts one message: any other handler ends it.
    root.message.middleware(search.ForgetSearchPrompt())
    root.callback_query.middleware(search.ForgetSearchPrompt())
    # admin first: its one filter lets only admins' updates in, and their commands win even
    # in the middle of a checkout; then the admin commands in groups it left (unanswered);
    # checkout next: a shopper's typed text belongs to it.
    root.include_routers(
        admin.create_router(),
        admin.create_group_guard(),
        staff_desk.create_router(),
        checkout.create_router(),
        promo_checkout.create_router(),
        promotions.create_router(),
        mailing_links.create_router(),
        start.create_router(),
        catalog.create_router(),
        favourites.create_router(),
        cart.create_router(),
        orders.create_router(),
        ratings.create_router(),
        handoff.create_router(),
        handoff.create_relay_router(),
        support.create_router(),
        search.create_router(),
        payments.create_router(),
        inline.create_router(),
        marketing.create_router(),
        fallback.create_router(),
    )
    return root
