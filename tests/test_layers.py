"""Layer rules, read from the sources' import statements (``ast``, nothing is imported).

1. The core (catalogue, cart, orders, stock, payments, the importer, settings, the database)
   does not import aiogram, directly or through another shopbot module: the bot is a thin
   layer over it, and the CLI, the web hooks and the jobs run it without a bot.
2. Nothing in the ``shopbot`` package imports the tests or a test-only package. The wheel
   ships ``shopbot*`` only, so such an import would break an installed shop, the demo's
   emulators (``shopbot/emulators``) first of all.

Imports inside functions count: a lazy import is still an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "shopbot"

# Top-level modules that are not core: the composition root (it builds the aiogram bot next
# to the web server and the jobs) and the command line, which imports it per command.
NOT_CORE = {"shopbot.app", "shopbot.cli", "shopbot.__main__"}
CORE_PACKAGES = ("shopbot.services", "shopbot.importer", "shopbot.payments", "shopbot.search")
TEST_ONLY = {"tests", "conftest", "pytest", "_pytest", "pytest_asyncio", "hypothesis", "selenium"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_sources() -> dict[str, str]:
    """``{dotted module name: source}`` for every module of the ``shopbot`` package."""
    return {module_name(path): path.read_text("utf-8") for path in PACKAGE.rglob("*.py")}


def is_core(module: str) -> bool:
    top_level = module.count(".") == 1 and module not in NOT_CORE
    return top_level or any(
        module == package or module.startswith(package + ".") for package in CORE_PACKAGES
    )


def imported_names(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module name an import statement of ``source`` may load, relative ones resolved
    (``from shopbot import db`` yields ``shopbot`` and ``shopbot.db``)."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            names.add(origin)
            names.update(f"{origin}.{alias.name}" for alias in node.names)
    return names


def within(name: str, roots: set[str]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def import_chains(
    sources: dict[str, str], packages: set[str], starts: list[str], banned: set[str]
) -> dict[str, list[str]]:
    """For each start module that reaches a ``banned`` module through imports (following
    shopbot's own modules; importing ``a.b`` runs ``a`` too), one chain from it to the
    banned import, e.g. ``["shopbot.services.x", "shopbot.bot.texts", "aiogram.types"]``."""

    def imports(module: str) -> set[str]:
        found = imported_names(sources[module], module, is_package=module in packages)
        loaded = set(found)
        for name in found:  # importing a.b.c runs a and a.b first
            parts = name.split(".")
            loaded.update(".".join(parts[:i]) for i in range(1, len(parts)))
        return loaded

    chains: dict[str, list[str]] = {}
    for start in starts:
        seen = {start}
        paths = [[start]]
        while paths and start not in chains:
            path = paths.pop()
            for name in sorted(imports(path[-1])):
                if within(name, banned):
                    chains[start] = [*path, name]
                    break
                if name in sources and name not in seen:
                    seen.add(name)
                    paths.append([*path, name])
    return chains


def imports_of_test_code(source: str, module: str) -> set[str]:
    """The test-only modules ``source`` imports."""
    return {name for name in imported_names(source, module) if within(name, TEST_ONLY)}


# --- the rules on the real package -----------------------------------------------------------


def test_the_core_does_not_import_aiogram() -> None:
    sources = package_sources()
    packages = {module_name(path.parent) for path in PACKAGE.rglob("__init__.py")}
    core = sorted(module for module in sources if is_core(module))
    # The rule covers what it claims: these are the layers it is about.
    assert {"shopbot.db", "shopbot.services.cart", "shopbot.payments.telegram"} <= set(core)
    assert {"shopbot.importer.core", "shopbot.phones", "shopbot.config"} <= set(core)
    chains = import_chains(sources, packages, core, {"aiogram"})
    assert chains == {}, "\n".join(" -> ".join(chain) for chain in chains.values())


def test_the_package_does_not_import_tests_or_test_tools() -> None:
    sources = package_sources()
    assert any(module.startswith("shopbot.emulators.") for module in sources)
    offenders = {
        module: found
        for module, source in sources.items()
        if (found := imports_of_test_code(source, module))
    }
    assert offenders == {}


# --- each rule can fail ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "snippet",
    [
        "import aiogram",
        "from aiogram.types import Message",
        "def later():\n    from aiogram import Bot\n    return Bot",
        "from shopbot.bot.texts import order_card",  # aiogram through the bot layer
        "from shopbot.bot import texts",
        "from ..bot import texts",  # relative, from shopbot.services
        "import shopbot.bot.texts as texts",
    ],
)
def test_a_core_module_reaching_aiogram_is_caught(snippet: str) -> None:
    sources = {
        "shopbot": "",
        "shopbot.bot": "",
        "shopbot.bot.texts": "from aiogram.utils.i18n import gettext as _\n",
        "shopbot.services": "",
        "shopbot.services.offender": snippet,
    }
    packages = {"shopbot", "shopbot.bot", "shopbot.services"}
    chains = import_chains(sources, packages, ["shopbot.services.offender"], {"aiogram"})
    chain = chains["shopbot.services.offender"]
    assert chain[0] == "shopbot.services.offender" and chain[-1].startswith("aiogram")


def test_a_core_module_without_aiogram_passes() -> None:
    sources = {
        "shopbot": "",
        "shopbot.db": "import sqlalchemy\n",
        "shopbot.services": "",
        "shopbot.services.cart": "from shopbot.db import upsert\nimport aiogramish\n",
    }
    packages = {"shopbot", "shopbot.services"}
    assert import_chains(sources, packages, ["shopbot.services.cart"], {"aiogram"}) == {}


@pytest.mark.parametrize(
    ("snippet", "caught"),
    [
        ("from tests.bot.conftest import TOKEN", "tests.bot.conftest"),
        ("import pytest", "pytest"),
        ("from _pytest.monkeypatch import MonkeyPatch", "_pytest.monkeypatch"),
        ("from hypothesis import given", "hypothesis"),
        ("from selenium.webdriver import Chrome", "selenium.webdriver"),
        ("def fixture():\n    import pytest_asyncio\n", "pytest_asyncio"),
        ("from conftest import shop", "conftest"),
    ],
)
def test_an_emulator_importing_test_code_is_caught(snippet: str, caught: str) -> None:
    assert caught in imports_of_test_code(snippet, "shopbot.emulators.telegram")


def test_names_that_only_look_like_test_tools_pass() -> None:
    snippet = "import pytest_like\nfrom shopbot.tests_helpers import x\nimport testsuite\n"
    assert imports_of_test_code(snippet, "shopbot.emulators.telegram") == set()
