"""The Telegram side of shopbot: aiogram routers, keyboards, callback data, middlewares, texts."""
