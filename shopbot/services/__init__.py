"""The shop's work, with no Telegram code: catalogue, cart, orders, stock, users."""
