"""The Mini App storefront's first load and its API's latency, over a shop of the sample
catalogue (with its pictures) plus ``--rows`` generated products (the import bench's).

* first load, in headless Chromium on loopback with a cold cache, as Telegram's web view
  opens it (init data in the fragment): the bytes transferred before the grid's pictures
  (the page, its CSS and JS, the API's answers) and the time from navigation to the first
  product tile drawn; the median of ``--runs`` loads. Targets: ≤ 150 KB, ≤ 1 s;
* the API, one client after another over loopback: a product page, a catalogue page deep
  in the list, a search; p50 and p95.

    .venv/bin/python bench/webapp_bench.py [--rows 10000] [--runs 5]

Needs Debian's chromium and chromedriver (``apt-get install -y chromium chromium-driver``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from import_bench import write_csv  # noqa: E402  (bench/ is the script's folder)

from shopbot.app import start_shop  # noqa: E402
from shopbot.config import load_settings  # noqa: E402
from shopbot.db import create_engine, create_session_factory, migrate  # noqa: E402
from shopbot.demo.runner import free_port  # noqa: E402
from shopbot.emulators.telegram import TelegramEmulator  # noqa: E402
from shopbot.emulators.telegram_webapp import init_data_fields, sign_init_data  # noqa: E402
from shopbot.importer import ImportOptions, import_file  # noqa: E402

SAMPLE = ROOT / "catalog" / "products.csv"
TOKEN = "7000000001:bench-token"
HOST = "127.0.0.1"
THEME = {"bg_color": "#ffffff", "text_color": "#000000", "button_color": "#2481cc"}
# Waits for the first product tile, then reports the time since navigation and the bytes
# of everything but pictures loaded so far (Resource Timing; same origin, so sizes show).
FIRST_GRID = """
const done = arguments[arguments.length - 1];
function report() {
  const at = performance.now();
  const [page] = performance.getEntriesByType("navigation");
  const other = performance.getEntriesByType("resource")
    .filter((entry) => entry.initiatorType !== "img");
  const bytes = other.reduce((sum, entry) => sum + entry.transferSize, page.transferSize);
  const files = other.map((entry) => new URL(entry.name)).map((url) => url.pathname + url.search);
  done({ ms: at, bytes, files });
}
if (document.querySelector(".tile")) report();
else new MutationObserver((_, observer) => {
  if (document.querySelector(".tile")) { observer.disconnect(); report(); }
}).observe(document.documentElement, { childList: true, subtree: true });
"""


def milliseconds(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=20)
    return f"p50 {statistics.median(samples) * 1000:6.2f} ms   p95 {cuts[18] * 1000:6.2f} ms"


async def filled_shop(work: Path, rows: int) -> str:
    url = f"sqlite+aiosqlite:///{work / 'shop.db'}"
    engine = create_engine(url)
    await migrate(engine)
    factory = create_session_factory(engine)
    for csv_path in (SAMPLE, write_generated(work, rows)):
        report = await import_file(factory, csv_path, ImportOptions(media_dir=work / "media"))
        assert report.ok, report.errors
    await engine.dispose()
    return url


def write_generated(work: Path, rows: int) -> Path:
    path = work / "generated.csv"
    write_csv(path, rows)
    return path


def chromium() -> webdriver.Chrome:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    driver.set_script_timeout(30)
    return driver


def first_loads(launch: str, runs: int) -> list[dict]:
    driver = chromium()
    try:
        results = []
        for _ in range(runs):
            driver.get("about:blank")
            driver.get(launch)
            results.append(driver.execute_async_script(FIRST_GRID))
        return results
    finally:
        driver.quit()


async def api_latency(base: str, init_data: str, rows: int, calls: int) -> None:
    headers = {"Authorization": f"tma {init_data}"}
    rng = random.Random(1)
    pages = max(1, rows // 24)
    first_views = iter(rng.sample(range(pages), pages) * (calls // pages + 1))
    paths = {
        "product page                 ": lambda: f"/products/{rng.randint(1, rows)}",
        # Each page once (a page's first view loads it), then pages already seen (kept in
        # memory for CATALOGUE_CACHE_SECONDS, here 2 s: the bench is done well within).
        "catalogue page, first view   ": lambda: f"/catalogue?page={next(first_views)}",
        "catalogue page, seen before  ": lambda: f"/catalogue?page={rng.randint(0, 4)}",
        "search                       ": lambda: (
            "/search?q=" + rng.choice(["кружка", "футболка", "блокнот"])
        ),
    }
    async with aiohttp.ClientSession(headers=headers) as client:
        for name, path in paths.items():
            samples = []
            for _ in range(calls):
                started = time.perf_counter()
                async with client.get(base + path()) as response:
                    await response.read()
                    assert response.status in (200, 404), response.status
                samples.append(time.perf_counter() - started)
            print(f"  {name}{milliseconds(samples)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        database_url = await filled_shop(work, args.rows)
        telegram = TelegramEmulator(TOKEN, test_environment=True)
        await telegram.start(HOST)
        port = free_port()
        settings = load_settings(
            bot_token=TOKEN,
            telegram_api_url=telegram.base_url,
            database_url=database_url,
            media_dir=work / "media",
            web_host=HOST,
            web_port=port,
            webapp_url=f"http://{HOST}:{port}",
            webapp_rate_limit="100000/minute",
            _env_file=None,
        )
        runtime = await start_shop(settings)
        try:
            shopper = telegram.user(1, "Анна")
            app = f"{runtime.web_url}/app/"
            launch = telegram.web_apps.launch_url(shopper, app, THEME)
            loads = await asyncio.to_thread(first_loads, launch, args.runs)
            kilobytes = statistics.median(load["bytes"] for load in loads) / 1024
            to_grid = statistics.median(load["ms"] for load in loads)
            print(
                f"Mini App over {args.rows} generated + the sample products, {args.runs} cold loads"
            )
            print(f"  transferred before pictures {kilobytes:.1f} KB (target ≤ 150 KB)")
            print(f"  first product grid          {to_grid:.0f} ms (target ≤ 1000 ms)")
            print(f"  files: {', '.join(loads[-1]['files'])}")
            init_data = sign_init_data(TOKEN, init_data_fields(shopper.as_user()))
            print(f"The API, {args.calls} calls each, one at a time")
            await api_latency(f"{runtime.web_url}/app/api", init_data, args.rows, args.calls)
            print("product API done")
        finally:
            await runtime.close()
            await telegram.stop()


if __name__ == "__main__":
    asyncio.run(main())
