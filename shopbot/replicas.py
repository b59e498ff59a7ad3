"""Several ``shopbot run`` processes (replicas) serving one shop behind a load balancer.

What a replica must not do alone: keep conversation state or per-shopper ordering in its own
memory (Redis does both, see :func:`shopbot.bot.factory.create_storage`), migrate the
database while others serve it (``shopbot migrate`` does, once), or keep serving caches
another replica's commit made stale. :class:`ChangeFeed` carries the topics of change of
every committed unit of work (see :func:`shopbot.db.changed`) to the other replicas over a
Redis channel, where they empty the same caches their own commits would.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid

from alembic.script import ScriptDirectory
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from shopbot.config import Settings
from shopbot.db import CommitHooks, alembic_config, current_revision
from shopbot.errors import StartupError
from shopbot.i18n import _

log = logging.getLogger(__name__)

RESUBSCRIBE_PAUSE = 1.0  # seconds before listening again after Redis failed for good
SUBSCRIBE_TIMEOUT = 10.0  # seconds start-up waits for the first subscription
STOP_TIMEOUT = 2.0  # seconds a shutdown waits for the listener to end


def change_channel(database_url: str) -> str:
    """The Redis channel of one shop's changes, named after its database (host, port,
    name; no password), so shops sharing a Redis do not empty each other's caches."""
    url = make_url(database_url)
    where = f"{url.host}:{url.port}/{url.database}"
    return "shopbot:changes:" + hashlib.blake2b(where.encode(), digest_size=8).hexdigest()


def check_scale_out(settings: Settings) -> None:
    """:class:`StartupError` (one line) when the settings would let replicas disagree: more
    than one replica, or webhook mode on PostgreSQL (a load balancer's usual setting), with
    conversation state and per-shopper locks in process memory; replicas on SQLite (one
    file, one writer, jobs that cannot be elected)."""
    on_postgres = settings.database_url.startswith("postgresql")
    if settings.replicas > 1 and not on_postgres:
        raise StartupError(
            _(
                "REPLICAS={replicas} needs PostgreSQL (DATABASE_URL): one SQLite file serves "
                "one process"
            ).format(replicas=settings.replicas)
        )
    if settings.redis_url:
        return
    if settings.replicas > 1:
        raise StartupError(
            _(
                "REPLICAS={replicas} needs REDIS_URL: conversation state and each shopper's "
                "order of updates must be shared by the replicas"
            ).format(replicas=settings.replicas)
        )
    if settings.telegram_webhook_url and on_postgres:
        raise StartupError(
            _(
                "webhook mode on PostgreSQL needs REDIS_URL: any replica behind the load "
                "balancer may get a shopper's next update"
            )
        )


async def check_schema_current(engine: AsyncEngine) -> None:
    """:class:`StartupError` (one line) if the database is behind this code's migrations.

    A database ahead of the code (the new release migrated it while this older replica
    restarts during a rolling upgrade) is served: migrations add before they take away.
    """
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    revision = await current_revision(engine)
    if revision == head:
        return
    known = {script.revision for script in scripts.walk_revisions()}
    if revision is None or revision in known:
        raise StartupError(
            _(
                "the database is at revision {revision}, this shopbot needs {head}: run "
                "`shopbot migrate` once, then start the replicas"
            ).format(revision=revision or _("none (empty)"), head=head)
        )
    log.warning("the database is at revision %s, newer than this code's %s", revision, head)


class ChangeFeed:
    """This replica's commits told to the others, and theirs to this replica's caches.

    After a unit of work commits, its topics are published on ``channel`` (see
    :func:`change_channel`) with this replica's id; every other replica announces them to
    its own :class:`CommitHooks`, whose caches (catalogue, users, the search index) then
    drop what they hold, as for a local commit. Redis pub/sub delivers at most once:
    whenever the subscription is (re)made (at start, after Redis came back) every topic is
    announced, since messages may have been missed while it was down. A replica that dies
    between its commit and the publish leaves the others' catalogue stale for at most
    ``CATALOGUE_CACHE_SECONDS``, the caches' age.
    """

    def __init__(self, redis: Redis, hooks: CommitHooks, channel: str) -> None:
        self.replica = uuid.uuid4().hex
        self.channel = channel
        self._redis = redis
        self._hooks = hooks
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        """Subscribe (returns once subscribed) and publish this replica's commits."""
        self._hooks.broadcast = self.publish
        self._task = asyncio.create_task(self._listen_forever())
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                await self._subscribed.wait()
        except TimeoutError:
            await self.stop()
            raise StartupError(
                _("could not subscribe to the replicas' changes in Redis (REDIS_URL)")
            ) from None

    async def stop(self) -> None:
        self._hooks.broadcast = None
        if self._task is not None:
            self._task.cancel()
            # redis-py's pub/sub can sit out a cancellation in its reconnection pauses: the
            # listener is left to end by itself rather than holding up a shutdown.
            await asyncio.wait([self._task], timeout=STOP_TIMEOUT)
            self._task = None

    async def publish(self, topics: set[str]) -> None:
        message = json.dumps({"replica": self.replica, "topics": sorted(topics)})
        try:
            await self._redis.publish(self.channel, message)
        except RedisError:  # the others' caches age out within CATALOGUE_CACHE_SECONDS
            log.exception("could not tell the other replicas of changes to %s", sorted(topics))

    async def _listen_forever(self) -> None:
        while True:
            try:
                await self._listen()
            except (RedisError, OSError):
                log.exception("the change feed lost Redis; listening again")
            await asyncio.sleep(RESUBSCRIBE_PAUSE)

    async def _listen(self) -> None:
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(self.channel)
            async for message in pubsub.listen():
                if message["type"] == "subscribe":  # at start, and after every reconnection
                    self._hooks.announce(self._hooks.topics())
                    self._subscribed.set()
                elif message["type"] == "message":
                    self._received(message["data"])

    def _received(self, data: bytes) -> None:
        try:
            change = json.loads(data)
            sender, topics = change["replica"], set(change["topics"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed change message %r", data[:200])
            return
        if sender != self.replica:
            self._hooks.announce(topics)
