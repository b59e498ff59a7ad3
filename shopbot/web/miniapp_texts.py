"""The Mini App's words: the page's own (sent to it in the shopper's language with the
session) and the API's answers when it refuses something."""

from __future__ import annotations

from shopbot.i18n import N_, translations

# The page's words, by the key its script reads them under (``T.key``).
PAGE_TEXTS = {
    "all": N_("Catalogue"),
    "search": N_("Search the shop"),
    "nothing_found": N_("Nothing found."),
    "close_matches": N_("Perhaps one of these:"),
    "in_stock": N_("In stock: {n} pcs."),
    "sold_out": N_("Sold out"),
    "add": N_("Add to cart"),
    "choose": N_("Choose a variant:"),
    "in_cart": N_("In cart: {n}"),
    "to_cart": N_("Cart · {total}"),
    "cart": N_("Cart"),
    "cart_empty": N_("Your cart is empty."),
    "total": N_("Total"),
    "delivery_price": N_("Delivery"),
    "free": N_("free"),
    "check_out": N_("Check out · {total}"),
    "checkout": N_("Checkout"),
    "name": N_("Your name"),
    "phone": N_("Phone"),
    "delivery": N_("How to get it"),
    "pickup": N_("Pickup"),
    "courier": N_("Courier delivery"),
    "address": N_("Delivery address (city, street, house, flat)"),
    "comment": N_("Comment for the shop (optional)"),
    "place_order": N_("Place order · {total}"),
    "order": N_("Order №{number}"),
    "pay": N_("Pay {total}"),
    "paid": N_("Paid, thank you! The shop is preparing your order."),
    "cash": N_("The shop will contact you to confirm it. Payment on receipt."),
    "awaiting": N_("The items are held for you until {time}."),
    "payment_pending": N_("Waiting for the payment…"),
    "payment_cancelled": N_("The payment did not go through. You can try again."),
    "chat_told": N_("The order is also in your chat with the shop."),
    "continue": N_("Continue shopping"),
    "unavailable": N_("no longer sold: remove it"),
    "out_of_stock": N_("sold out: remove it"),
    "reduced": N_("only {n} left"),
    "remove": N_("Remove"),
    "failed": N_("Something went wrong. Please try again."),
    "offline": N_("The shop is not reachable. Check the connection and try again."),
}

# The API's refusals.
UNAUTHORIZED = N_("Please open the shop again from the bot's chat: this session has ended.")
TOO_MANY = N_("Too many requests. Please wait a few seconds.")
NOT_FOUND = N_("This product is no longer in the shop.")
NO_CATEGORY = N_("This category is no longer in the shop.")
ORDER_NOT_FOUND = N_("There is no such order.")
UNAVAILABLE = N_("“{name}” is no longer sold.")
OUT_OF_STOCK = N_("“{name}” has run out; the cart has all there is.")
CART_FULL = N_("The cart holds at most {limit} different products.")
EMPTY_CART = N_("Your cart is empty.")
RAN_OUT = N_("“{name}” has just run out. Please check your cart.")
TOO_LARGE = N_(
    "The order comes to {total}, more than can be paid in one payment ({limit}). "
    "Please take some items out of the cart."
)
FORM_PROBLEMS = N_("Please check the form.")
BAD_REQUEST = N_("The shop did not understand this request.")
NOT_PAYABLE = N_("This order can no longer be paid.")
PAYMENT_DOWN = N_("The payment service is not answering. Please try again in a minute.")
NOTHING_TO_PAY = N_("This order is paid on receipt.")


def page_texts(language: str) -> dict[str, str]:
    catalogue = translations(language)
    return {key: catalogue.gettext(message) for key, message in PAGE_TEXTS.items()}
