"""Product search that understands Russian: word forms, typos, the wrong keyboard layout,
transliteration and synonyms (no aiogram here: the bot, the CLI and benches share it)."""

from shopbot.search.engine import SearchEngine, SearchResult

__all__ = ["SearchEngine", "SearchResult"]
