"""Shoppers and the FAQ through the real dispatcher: browsing topics, questions and answers
from Help; "write to a manager"; a typed question answered from the FAQ; "где мой заказ"."""

from __future__ import annotations

from pathlib import Path

from shopbot.bot.render import TEXT_LIMIT
from shopbot.services.faq import all_entries, import_faq
from tests.bot.conftest import ADMIN, Catalogue, Shop, ShopFactory, buttons, check_out

SAMPLE = Path(__file__).resolve().parents[2] / "catalog" / "faq.csv"
MANAGER = "Не нашли ответ? Написать менеджеру"


async def faq_shop(shop_factory: ShopFactory) -> Shop:
    shop = await shop_factory(admin_ids=[ADMIN], shop_contact="+7 495 123-45-67")
    report = await import_faq(shop.session_factory, SAMPLE.read_bytes(), dry_run=False)
    assert report.ok
    await shop.emulator.user(ADMIN, "Хозяйка").send_text("/start")
    return shop


async def test_help_shows_topics_then_questions_then_the_answer(
    shop_factory: ShopFactory,
) -> None:
    shop = await faq_shop(shop_factory)
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    anna = shop.emulator.user(101, "Анна", username="anna")
    await anna.send_text("/start")
    await anna.press("❓ Помощь")
    topics = anna.last
    assert topics["text"] == "❓ Частые вопросы: выберите тему."
    assert buttons(topics)[:3] == ["Заказ", "Доставка", "Оплата"]
    assert buttons(topics)[-1] == MANAGER
    assert "/support — написать менеджеру" in anna.messages[-2]["text"]

    await anna.press("Доставка", message=topics)
    questions = anna.history[topics["message_id"]]
    assert questions["text"] == "❓ Доставка"
    assert "Сколько стоит доставка?" in buttons(questions)
    assert buttons(questions)[-1] == "⬅ Все темы"

    await anna.press("Сколько стоит доставка?", message=questions)
    answer = anna.last
    assert answer["text"].startswith("Сколько стоит доставка?\n\nСамовывоз бесплатный.")
    assert buttons(answer) == [MANAGER, "⬅ Вопросы темы «Доставка»"]
    await anna.press("⬅ Все темы", message=questions)
    assert anna.history[topics["message_id"]]["text"] == "❓ Частые вопросы: выберите тему."

    await anna.press(MANAGER, message=answer)
    # The hand-off to a person (tests/bot/test_support_handoff.py): the subject first.
    assert anna.last["text"] == "О чём ваш вопрос?"
    await anna.press("🚚 Доставка и оплата")
    assert anna.last["text"].startswith("💬 Вы пишете менеджеру.")
    await anna.send_text("А в Казань <доставите>?")
    await shop.emulator.wait_handled()
    assert owner.last["text"] == "А в Казань <доставите>?"  # copied to the admin's chat
    card = owner.messages[-2]
    assert card["text"].startswith("🆕 Покупатель просит человека")
    assert "Кто: Анна\n@anna" in card["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_support_goes_straight_to_a_manager(shop_factory: ShopFactory) -> None:
    shop = await faq_shop(shop_factory)
    boris = shop.emulator.user(102, "Борис")
    await boris.send_text("/support")
    assert boris.last["text"] == "О чём ваш вопрос?"


async def test_without_staff_the_shop_contact_is_shown(shop_factory: ShopFactory) -> None:
    shop = await shop_factory(shop_contact="+7 495 123-45-67")
    boris = shop.emulator.user(102, "Борис")
    await boris.send_text("/support")
    assert boris.last["text"] == "Связаться с магазином: +7 495 123-45-67"


async def test_a_long_answer_is_split_and_escaped(shop_factory: ShopFactory) -> None:
    shop = await faq_shop(shop_factory)
    paragraph = "Таблица <размеров> & мерок: " + "обхват груди 96 см. " * 120
    long_faq = f'question;answer;topic\nКакой размер?;"{paragraph}\n\n{paragraph}";Размеры\n'
    assert (await import_faq(shop.session_factory, long_faq.encode(), dry_run=False)).ok
    vera = shop.emulator.user(103, "Вера")
    await vera.send_text("/help")
    await vera.press("Размеры")
    await vera.press("Какой размер?")
    first, second = vera.messages[-2:]
    assert first["text"].startswith("Какой размер?\n\nТаблица <размеров> & мерок:")
    assert second["text"].startswith("Таблица <размеров> & мерок:")
    assert all(len(message["text"]) <= TEXT_LIMIT for message in (first, second))
    assert buttons(first) == [] and buttons(second)[0] == MANAGER
    assert shop.emulator.errors == []


async def test_a_typed_question_is_answered_from_the_faq(shop_factory: ShopFactory) -> None:
    shop = await faq_shop(shop_factory)
    gleb = shop.emulator.user(104, "Глеб")
    await gleb.send_text("/start")
    await gleb.send_text("сколько стоит доставка")
    answer, asked = gleb.messages[-2:]
    assert answer["text"].startswith("Сколько стоит доставка?\n\nСамовывоз бесплатный.")
    assert asked["text"] == "Это помогло?"
    assert buttons(asked) == ["👍", "👎"]
    await gleb.press("👍", message=asked)
    assert gleb.history[asked["message_id"]]["text"] == "Рады, что смогли помочь! 😊"

    await gleb.send_text("как вернуть деньги за возврат")
    asked = gleb.last
    assert gleb.messages[-2]["text"].startswith("Когда вернутся деньги за возврат?")
    await gleb.press("👎", message=asked)
    assert buttons(gleb.history[asked["message_id"]]) == [MANAGER]

    # A looser match is offered as a button, beside what the search finds.
    await gleb.send_text("доставка")
    offered = gleb.last
    assert offered["text"].startswith("Точно по запросу «доставка» ничего нет")
    assert "Сколько стоит доставка?" in buttons(offered)
    assert buttons(offered)[-1] == MANAGER


async def test_where_is_my_order_tells_the_statuses(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await faq_shop(shop_factory)
    dina = shop.emulator.user(105, "Дина")
    await dina.send_text("/start")
    await dina.send_text("Где мой заказ?")
    assert dina.last["text"] == "У вас пока нет заказов."
    await check_out(shop, 105, "MUG-1")
    await dina.send_text("статус заказа")
    assert dina.last["text"].startswith("📦 Ваши последние заказы\n№1001: ")
    assert buttons(dina.last) == ["Заказ №1001"]


async def downloaded(shop: Shop, message: dict) -> bytes:
    buffer = await shop.bot.download(message["document"]["file_id"])
    assert buffer is not None
    return buffer.getvalue()


async def test_the_owner_imports_the_faq_in_the_chat_and_exports_it_unchanged(
    admin_shop: Shop,
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    data = SAMPLE.read_bytes()
    await owner.send_document("faq.csv", data, caption="/faq_import")
    check = owner.last
    assert check["text"].startswith("Проверка FAQ, пока ничего не записано. Будет добавлено: 16")
    assert buttons(check) == ["✅ Применить", "✖ Отменить"]
    await owner.send_text("/faq_export")
    assert (await downloaded(admin_shop, owner.last)).count(b"\r\n") == 1  # nothing yet
    apply = check["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await owner.press("✅ Применить", message=check)
    assert owner.history[check["message_id"]]["text"].startswith("FAQ загружен. Добавлено: 16")
    answer = await owner.press_data(apply, message=check)  # a second tap applies nothing
    assert answer is not None and "уже" in (answer.text or "")

    await owner.send_text("/faq_export")
    exported = owner.last
    assert exported["document"]["file_name"].startswith("faq-")
    assert await downloaded(admin_shop, exported) == data

    # A bad file: its lines, in Russian, and nothing changes.
    bad = "Вопрос;Ответ;Тема\nОдин?;;Тема\n".encode()
    await owner.send_document("faq.csv", bad, caption="/faq_import")
    assert owner.last["text"].startswith("❌ В файле")
    assert "строка 2: Столбец «Ответ» пуст" in owner.last["text"]
    await owner.send_text("/faq_export")
    assert await downloaded(admin_shop, owner.last) == data
    # Cancel leaves the FAQ as it is.
    await owner.send_document(
        "faq.csv", "Вопрос;Ответ;Тема\nОдин?;Да;Тема\n".encode(), caption="/faq_import"
    )
    assert "удалено: 16" in owner.last["text"]
    await owner.press("✖ Отменить", message=owner.last)
    await owner.send_text("/faq_export")
    assert await downloaded(admin_shop, owner.last) == data
    assert admin_shop.emulator.errors == []


async def test_the_owner_adds_edits_and_deletes_entries_in_the_chat(admin_shop: Shop) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/faq")
    assert owner.last["text"] == "❓ FAQ, вопросов: 0. /faq_export выгрузит их в CSV."
    await owner.press("➕ Добавить вопрос")
    assert "К какой теме относится вопрос?" in owner.last["text"]
    await owner.send_text("Подарки")
    await owner.send_text("Можно упаковать заказ в подарок?")
    await owner.send_text("Да, бесплатно: крафтовая бумага и открытка.")
    assert owner.messages[-2]["text"] == "✅ Вопрос добавлен."
    listing = owner.last
    assert listing["text"].startswith("❓ FAQ, вопросов: 1.")
    await owner.press("Подарки · Можно упаковать заказ в подарок?", message=listing)
    card = owner.history[listing["message_id"]]
    assert "Да, бесплатно" in card["text"]
    assert buttons(card) == ["✏ Изменить ответ", "🗑 Удалить", "⬅ Все вопросы"]

    await owner.press("✏ Изменить ответ", message=card)
    await owner.send_text("Да, за 100 ₽ <с бантом>.")
    assert owner.messages[-2]["text"] == "✅ Ответ сохранён."

    # Shoppers see it at once.
    anna = admin_shop.emulator.user(101, "Анна")
    await anna.send_text("/help")
    await anna.press("Подарки")
    await anna.press("Можно упаковать заказ в подарок?")
    assert anna.last["text"].endswith("Да, за 100 ₽ <с бантом>.")

    await owner.send_text("/faq")
    await owner.press("Подарки · Можно упаковать заказ в подарок?")
    await owner.press("🗑 Удалить")
    assert owner.last["text"].startswith("❓ FAQ, вопросов: 0.")
    # The shopper's old button now says the question is gone.
    answer = await anna.press("⬅ Вопросы темы «Подарки»")
    assert answer is not None and answer.text == "Этой темы больше нет в списке."
    assert admin_shop.emulator.errors == []


async def test_forged_faq_buttons_change_nothing(shop_factory: ShopFactory) -> None:
    """A shopper who forges the owner's delete button, or a button of an entry that does not
    exist, is answered and nothing changes."""
    shop = await faq_shop(shop_factory)
    eve = shop.emulator.user(106, "Ева")
    await eve.send_text("/help")
    topics = eve.last
    answer = await eve.press_data("aq:d:1:0", message=topics)  # the owner's delete of entry 1
    assert answer is not None and "устарела" in (answer.text or "")
    answer = await eve.press_data("q:e:999999", message=topics)
    assert answer is not None and answer.text == "Этого вопроса больше нет в списке."
    answer = await eve.press_data("q:e:-5", message=topics)
    assert answer is not None and "устарела" in (answer.text or "")
    async with shop.session_factory() as session:
        assert len(await all_entries(session)) == 16
