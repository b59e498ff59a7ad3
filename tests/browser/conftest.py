"""``shopbot demo`` in a subprocess, driven by Debian's headless Chromium through Selenium.

The browser tests need ``/usr/bin/chromium`` and ``/usr/bin/chromedriver``
(``apt-get install -y chromium chromium-driver``); without them they fail, saying so.
Screenshots go to ``$SHOPBOT_SCREENSHOTS`` when set (``docs/make_screenshots.py`` sets it),
else to a temporary folder.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get install -y chromium chromium-driver"
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# A phone's screen in CSS pixels (an iPhone 12-15's). Set through DevTools: headless
# Chromium will not make a window narrower than 500 px.
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
STARTUP_TIMEOUT = 180  # seconds: importing aiogram and the sample images is slow on CI
WAIT = 20  # seconds for the bot to answer a click
BANNER = "shopbot demo is running"


@dataclass
class RunningDemo:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _page_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    """``python -m shopbot demo`` in a fresh folder; stopped with Ctrl-C (SIGINT) at the end,
    which must end it cleanly."""
    workdir = tmp_path_factory.mktemp("demo")
    port = _free_port()
    log = workdir / "demo.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "shopbot", "demo", "--port", str(port)],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    running = RunningDemo(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while BANNER not in running.output() or not _page_answers(running.url):
            if process.poll() is not None:
                pytest.fail(f"the demo exited with {process.returncode}:\n{running.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the demo did not start in {STARTUP_TIMEOUT} s:\n{running.output()}")
            time.sleep(0.3)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                pytest.fail(f"shopbot demo ignored Ctrl-C:\n{running.output()}")
    if process.returncode != 0 or "Traceback" in running.output():
        pytest.fail(f"the demo did not stop cleanly ({process.returncode}):\n{running.output()}")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(
            f"the browser tests need Debian's Chromium and ChromeDriver ({', '.join(missing)} "
            f"missing): install them as root with `{INSTALL}`",
            pytrace=False,
        )
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def screenshot(tmp_path_factory: pytest.TempPathFactory) -> Callable[[WebDriver, str], Path]:
    folder = Path(os.environ.get("SHOPBOT_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)

    def take(driver: WebDriver, name: str) -> Path:
        path = folder / f"{name}.png"
        driver.save_screenshot(str(path))
        return path

    return take


class ChatPage:
    """The demo's chat page, as a person uses it: read messages, press buttons, type."""

    def __init__(self, driver: WebDriver, url: str) -> None:
        self.driver = driver
        self.url = url

    def open(self) -> None:
        self.driver.get(self.url)
        self._wait_chat_of("shopper")

    def wait_for(self, condition: Callable[[], object], what: str = "") -> object:
        """Wait until ``condition()`` is truthy; stale elements just mean "not yet"."""

        def check(_driver: WebDriver) -> object:
            try:
                return condition()
            except StaleElementReferenceException:
                return False

        try:
            return WebDriverWait(self.driver, WAIT, poll_frequency=0.1).until(check)
        except TimeoutException:
            chat = self.driver.find_element(By.ID, "chat").text
            raise AssertionError(f"timed out waiting for {what}; the chat shows:\n{chat}") from None

    def bot_message(self, text: str) -> WebElement:
        """The newest message from the bot containing ``text`` (waits for it)."""
        script = """
            const text = arguments[0];
            const found = [...document.querySelectorAll('#chat .msg.in')].reverse()
                .find((node) => node.textContent.includes(text));
            return found || null;
        """
        found = self.wait_for(
            lambda: self.driver.execute_script(script, text), f"a bot message with {text!r}"
        )
        assert isinstance(found, WebElement)
        return found

    def press(self, label: str) -> None:
        """Click the newest inline button whose text starts with ``label``."""
        script = """
            const label = arguments[0];
            const found = [...document.querySelectorAll('#chat .inline-button')].reverse()
                .find((node) => node.textContent.startsWith(label));
            return found || null;
        """

        def click() -> bool:
            button = self.driver.execute_script(script, label)
            if button is None:
                return False
            button.click()
            return True

        self.wait_for(click, f"an inline button {label!r}")

    def cut_buttons(self, message: WebElement) -> list[str]:
        """The texts of ``message``'s inline buttons that do not fit their button: the page
        cuts them with "…", as Telegram does."""
        script = """
            return [...arguments[0].querySelectorAll('.inline-button')]
                .filter((node) => node.scrollWidth > node.clientWidth)
                .map((node) => node.textContent);
        """
        return list(self.driver.execute_script(script, message))

    def buttons_hiding(self, message: WebElement, part: str) -> list[str]:
        """The texts of ``message``'s buttons containing ``part`` whose ``part`` is cut off
        (it lies past the button's right edge): empty when every one shows it whole."""
        script = """
            const part = arguments[1];
            const hidden = [];
            for (const node of arguments[0].querySelectorAll('.inline-button')) {
                const text = node.firstChild;
                const at = node.textContent.indexOf(part);
                if (!text || at < 0) continue;
                const range = document.createRange();
                range.setStart(text, at);
                range.setEnd(text, at + part.length);
                const style = getComputedStyle(node);
                const edge = node.getBoundingClientRect().right - parseFloat(style.paddingRight);
                if (range.getBoundingClientRect().right > edge + 0.5) hidden.push(node.textContent);
            }
            return hidden;
        """
        return list(self.driver.execute_script(script, message, part))

    def key(self, label: str) -> None:
        """Click the reply-keyboard button whose text starts with ``label``."""

        def click() -> bool:
            for button in self.driver.find_elements(By.CSS_SELECTOR, "#keyboard .key"):
                if button.text.startswith(label):
                    button.click()
                    return True
            return False

        self.wait_for(click, f"a keyboard button {label!r}")

    def send(self, text: str) -> None:
        field = self.driver.find_element(By.ID, "text")
        field.send_keys(text)
        self.driver.find_element(By.CSS_SELECTOR, "#composer .send").click()
        self.wait_for(lambda: self.my_message(text), f"my message {text!r} in the chat")

    def my_message(self, text: str) -> bool:
        messages = self.driver.find_elements(By.CSS_SELECTOR, "#chat .msg.out")
        return any(text in message.text for message in messages)

    def switch_to(self, person: str) -> None:
        self.driver.find_element(By.CSS_SELECTOR, f'.switch [data-person="{person}"]').click()
        self._wait_chat_of(person)

    def _wait_chat_of(self, person: str) -> None:
        """Until the page shows ``person``'s chat, loaded from the event stream."""
        self.wait_for(
            lambda: self.driver.find_elements(By.CSS_SELECTOR, f'#chat[data-person="{person}"]'),
            f"the chat of {person}",
        )

    def topic(self, name: str) -> None:
        """In the staff group: show the topic whose name starts with ``name`` (waits for it)."""

        def click() -> bool:
            for button in self.driver.find_elements(By.CSS_SELECTOR, "#topics .topic"):
                if button.text.startswith(name):
                    if button.get_attribute("aria-pressed") == "true":
                        return True
                    button.click()  # the topics are drawn anew: seen pressed next time
            return False

        self.wait_for(click, f"a topic {name!r}")

    def toast(self) -> str:
        toast = self.driver.find_element(By.ID, "toast")
        return toast.text if toast.is_displayed() else ""
