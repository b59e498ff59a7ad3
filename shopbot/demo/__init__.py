"""``shopbot demo``: the real bot in a browser chat, with simulated Telegram and payments."""
