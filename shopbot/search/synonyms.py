"""Words shoppers use for the goods of a small gift-and-merch shop, and what the catalogue
calls them: English words, and Russian everyday words for the catalogue's ones.

Keys are folded words as typed; values are Russian words (any form) the index knows.
An owner adds words of their own per product (the catalogue CSV's ``keywords`` column).
"""

from __future__ import annotations

_GROUPS: dict[str, tuple[str, ...]] = {
    "футболка": ("t-shirt", "tshirt", "tee", "shirt", "майка", "футболочка"),
    "худи": ("hoodie", "hoody", "толстовка", "кофта"),
    "свитшот": ("sweatshirt", "sweater", "свитер", "толстовка", "кофта", "джемпер"),
    "шапка": ("hat", "beanie", "cap", "шапочка", "ушанка"),
    "кружка": ("mug", "cup", "чашка", "кружечка"),
    "термокружка": ("thermos", "термос", "термочашка", "thermomug"),
    "блокнот": ("notebook", "notepad", "тетрадь", "записная"),
    "скетчбук": ("sketchbook", "альбом"),
    "открытка": ("postcard", "postcards", "card", "cards", "карточка"),
    "стикер": ("sticker", "stickers", "наклейка", "наклейки"),
    "шоппер": ("tote", "shopper", "bag", "сумка", "сумочка", "авоська"),
    "значок": ("pin", "pins", "badge", "badges", "пин", "брошь"),
    "постер": ("poster", "posters", "плакат", "print", "принт"),
    "подарочный": ("gift", "gifts", "подарок", "подарки"),
    "сертификат": ("certificate", "voucher", "giftcard", "card"),
    "набор": ("set", "kit", "bundle", "комплект", "pack"),
    "стикерпак": ("pack", "пак"),
    # English words for what the goods are like, as the catalogue's names say it.
    "чёрный": ("black",),
    "белый": ("white",),
    "серый": ("grey", "gray"),
    "красный": ("red",),
    "синий": ("blue",),
    "зелёный": ("green",),
    "оверсайз": ("oversized", "oversize"),
    "вязаный": ("knitted", "knit"),
    "эмалированный": ("enamel", "enamelled", "enameled"),
    "акварель": ("watercolor", "watercolour", "aquarelle"),
    "походный": ("travel", "camping", "hiking"),
    "путешественник": ("travel", "traveller", "traveler"),
    "кот": ("cat", "kitten", "kitty"),
    "ёжик": ("hedgehog",),
    "метро": ("metro", "subway", "underground"),
    "схема": ("map",),
    "кофе": ("coffee",),
    "чай": ("tea",),
}

SYNONYMS: dict[str, tuple[str, ...]] = {}
for _word, _others in _GROUPS.items():
    for _other in _others:
        SYNONYMS[_other] = (*SYNONYMS.get(_other, ()), _word)
