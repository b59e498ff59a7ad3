"""The chat page's own words (status line, buttons, error toasts) in the demo's language.

The page's HTML has ``{{key}}`` where a text goes and its script reads the rest from a JSON
block, both filled in here from the core catalogue (``shopbot/locales``), so the page
speaks the language of ``shopbot demo --language`` like the bot.
"""

from __future__ import annotations

import html
import json
import re

from shopbot.i18n import N_, known_language, translations

PAGE_TEXTS = {
    "shop": N_("Shop"),
    "connecting": N_("connecting…"),
    "online": N_("online"),
    "reconnecting": N_("reconnecting…"),
    "who": N_("Who you are"),
    "shopper": N_("Shopper"),
    "admin": N_("Admin"),
    "staff": N_("Staff"),
    "topics": N_("Topics of the staff group"),
    "no_topics": N_(
        "No topics yet. As the shopper, send /support (or ❓ Help → write to a manager): "
        "the shopper's topic appears here, and what you write in it reaches the shopper."
    ),
    "topic_closed": N_("closed"),
    "attach": N_("Send a file (a CSV with caption /import)"),
    "placeholder": N_("Message or /command"),
    "message": N_("Message"),
    "send": N_("Send"),
    "caption": N_("Caption"),
    "cancel": N_("Cancel"),
    "edited": N_("edited"),
    "failed": N_("Something went wrong"),
    "unreachable": N_("The demo server is not reachable"),
    "bytes": N_("{n} B"),
    "kilobytes": N_("{n} KB"),
    "megabytes": N_("{n} MB"),
    "app_back": N_("Back"),
    "app_close": N_("Close the shop"),
}
# The toasts of a refused action (the page's requests are checked by the server).
TYPE_FIRST = N_("Type a message first.")
MESSAGE_GONE = N_("That message is no longer in the chat.")
BUTTON_GONE = N_("That button is no longer on the message.")
KEY_GONE = N_("That button is no longer on the keyboard.")
FILE_FIRST = N_("Choose a file first.")
APP_GONE = N_("The bot no longer offers this app.")
INVOICE_GONE = N_("This invoice is no longer valid.")
TOPIC_FIRST = N_("Choose a topic first.")
NOT_IN_GROUP = N_("The staff group takes text messages only in this demo.")
# The staff group's title, as the bot sees it.
STAFF_GROUP = N_("Shop staff")

_SLOT = re.compile(r"\{\{(\w+)\}\}")


def translated(message: str, language: str) -> str:
    return translations(known_language(language)).gettext(message)


def page_texts(language: str) -> dict[str, str]:
    return {key: translated(message, language) for key, message in PAGE_TEXTS.items()}


def render_page(template: str, language: str) -> str:
    """``template`` with each ``{{key}}`` replaced by its text (escaped), ``{{lang}}`` by
    the language, ``{{initial}}`` by the shop's first letter and ``{{texts}}`` by all the
    texts as JSON for the script."""
    texts = page_texts(language)
    values = {key: html.escape(value) for key, value in texts.items()}
    values["lang"] = known_language(language)
    values["initial"] = html.escape(texts["shop"][:1])  # the avatar's letter
    # Inside <script type="application/json">: only "</" could end the block early.
    values["texts"] = json.dumps(texts, ensure_ascii=False).replace("</", "<\\/")
    return _SLOT.sub(lambda match: values[match.group(1)], template)
