"""Shoppers and the FAQ through the real dispatcher: browsing topics, questions and answers
from Help; "write to a manager"; a typed question answered from the FAQ; "где мой заказ"."""

from __future__ import annotations

from pathlib import Path

from shopbot.bot.render import TEXT_LIMIT
from shopbot.services.faq import import_faq
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
    assert "Связаться с магазином: +7 495 123-45-67" in anna.last["text"]
    assert "я передам его менеджеру" in anna.last["text"]
    await anna.send_text("А в Казань <доставите>?")
    assert anna.last["text"] == "✅ Сообщение отправлено. Магазин свяжется с вами."
    await shop.emulator.wait_handled()
    relayed = owner.last["text"]
    assert relayed.startswith("💬 Покупатель пишет менеджеру:")
    assert "А в Казань <доставите>?" in relayed
    assert "Анна, @anna (id 101)" in relayed
    # One message only: the next one is not relayed.
    await anna.send_text("спасибо")
    assert owner.last["text"] == relayed
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_support_goes_straight_to_a_manager(shop_factory: ShopFactory) -> None:
    shop = await faq_shop(shop_factory)
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    boris = shop.emulator.user(102, "Борис")
    await boris.send_text("/support")
    assert "я передам его менеджеру" in boris.last["text"]
    await boris.send_text("Можно оплатить частями?")
    await shop.emulator.wait_handled()
    assert "Можно оплатить частями?" in owner.last["text"]


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
    assert offered["text"].startswith("Извините, я не понял")
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
