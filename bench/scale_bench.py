"""Does adding replicas add throughput, or only contention? The same shoppers' whole journeys
to paid orders (product, cart, checkout's five questions, YooKassa payment) through:

1. one ``shopbot run`` polling on SQLite (the default deployment), no nginx, no Redis;
2. 1, 2 and 3 ``shopbot run`` replicas in webhook mode on PostgreSQL and Redis behind
   Debian's nginx with the project's site (``deploy/nginx``, TLS swapped for plain HTTP).

Telegram and YooKassa are the project's emulators in this process (tests/deploy/cluster.py),
every shopper one action at a time. Printed per setup: updates/s over the whole run, the
shoppers' step latency p50/p99 (action to the bot's visible answer), the replicas' CPU
seconds per update, nginx's, and the Redis commands per update (the server's own count,
so anything else using that Redis adds to it). On a 2-core machine the replicas share the
cores with the emulators, PostgreSQL and nginx: compare CPU per update, not updates/s.

    .venv/bin/python bench/scale_bench.py [--shoppers 60] [--replicas 1,2,3]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/shopbot_bench_scale]
        [--redis-url redis://127.0.0.1:6379/7]

The PostgreSQL database's schema is dropped and made again for each setup (its name must
contain "bench").
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.deploy.cluster import (
    ChatWatch,
    Cluster,
    catalogue_csv,
    journeys,
    percentile,
)


@dataclass
class Figures:
    label: str
    updates: int
    seconds: float
    p50: float
    p99: float
    replica_cpu: float
    nginx_cpu: float
    redis_commands: int | None
    stuck: int

    def line(self) -> str:
        redis = (
            f"{self.redis_commands / self.updates:5.1f}"
            if self.redis_commands is not None
            else "    -"
        )
        return (
            f"{self.label:<28} {self.updates / self.seconds:7.1f} {self.p50 * 1000:7.0f} "
            f"{self.p99 * 1000:7.0f} {self.replica_cpu / self.updates * 1000:9.2f} "
            f"{self.nginx_cpu / self.updates * 1000:8.2f} {redis} {self.stuck:6d}"
        )


async def redis_commands(url: str | None) -> int | None:
    if url is None:
        return None
    redis = Redis.from_url(url)
    try:
        return int((await redis.info("stats"))["total_commands_processed"])
    finally:
        await redis.aclose()


async def measure(
    label: str, replicas: int, database_url: str, redis_url: str | None, shoppers: int
) -> Figures:
    with tempfile.TemporaryDirectory(prefix="shopbot-scale-") as folder:
        cluster = Cluster(
            Path(folder),
            replicas=replicas,
            database_url=database_url,
            redis_url=redis_url,
            reconcile_interval=60,  # every shopper pays with a notification: no pass needed
        )
        await cluster.start(catalogue_csv())
        watch = ChatWatch(cluster.emulator)
        people = journeys(cluster.emulator, shoppers, everyone_pays=True)
        try:
            cpu_before, nginx_before = cluster.replica_cpu(), cluster.nginx_cpu()
            commands_before = await redis_commands(redis_url)
            started = time.perf_counter()
            await asyncio.gather(*(journey.run(watch, cluster.yookassa) for journey in people))
            seconds = time.perf_counter() - started
            commands_after = await redis_commands(redis_url)
            cpu = cluster.replica_cpu() - cpu_before
            nginx = cluster.nginx_cpu() - nginx_before
        finally:
            await watch.close()
            await cluster.stop()
            await cluster.forget([journey.user.id for journey in people])
    latencies = [seconds for journey in people for seconds in journey.latencies]
    return Figures(
        label,
        cluster.emulator.last_update_id,
        seconds,
        percentile(latencies, 50),
        percentile(latencies, 99),
        cpu,
        nginx,
        None if commands_before is None else commands_after - commands_before,  # type: ignore[operator]
        sum(1 for journey in people if journey.stuck),
    )


async def run(args: argparse.Namespace) -> None:
    if "bench" not in (make_url(args.database_url).database or ""):
        raise SystemExit("--database-url must name a database with 'bench' in its name")
    print(
        f"{args.shoppers} shoppers, each: open a product, add it, cart, check out, name, "
        "phone, pickup, comment, confirm, pay (YooKassa notification through the front)\n"
    )
    header = (
        f"{'setup':<28} {'upd/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/upd':>9} "
        f"{'nginx ms':>8} {'redis':>5} {'stuck':>6}"
    )
    print(header)
    with tempfile.TemporaryDirectory(prefix="shopbot-scale-sqlite-") as folder:
        sqlite = f"sqlite+aiosqlite:///{Path(folder) / 'shop.db'}"
        print((await measure("polling, SQLite", 0, sqlite, None, args.shoppers)).line(), flush=True)
    for count in args.replicas:
        label = f"{count} replica{'s' if count > 1 else ''}, nginx, PG+Redis"
        figures = await measure(label, count, args.database_url, args.redis_url, args.shoppers)
        print(figures.line(), flush=True)
    print(
        "\nCPU ms/upd: the replicas' own CPU per update; redis: commands per update on the "
        "Redis server (its whole count)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=60)
    parser.add_argument(
        "--replicas", type=lambda value: [int(n) for n in value.split(",")], default=[1, 2, 3]
    )
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/shopbot_bench_scale"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
