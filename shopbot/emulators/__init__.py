"""HTTP emulators of the outside services shopbot talks to (Telegram Bot API, YooKassa).

They live in the package, not in tests, because ``shopbot demo`` runs the shop against them.
"""
