"""Where the events hub keeps events: PostgreSQL (any number of replicas) or memory (one).

Both stores share Backstage's model. A subscription (one per subscriber id, over
every replica) has topics and ``read_until``, the last event id it has read. An
event is kept only when some subscription wants its topic and was not notified
in the publishing process already. A read takes the subscription row ``FOR
UPDATE``, returns the next events past ``read_until`` and advances it, so
replicas polling with one id share the events: each event reaches the id once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["EventStore", "MemoryEventStore", "PostgresEventStore", "StoredEvent", "Watch"]

CHANNEL = "event_bus_publish"
"""The NOTIFY channel; the payload is the topic."""

READ_LIMIT = 10
"""Events one read returns at most (Backstage's number)."""

_PUBLISH_LOCK = 0x6576656E7473  # 'events': publishes commit one at a time, in id order


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the hub hands it out."""

    id: int
    topic: str
    data_json: str
    metadata_json: str | None = None

    def to_json(self) -> dict[str, object]:
        """The wire form: ``{"topic", "payload", "metadata"}``."""
        payload: object = json.loads(self.data_json)
        metadata: object = None if self.metadata_json is None else json.loads(self.metadata_json)
        return {"topic": self.topic, "payload": payload, "metadata": metadata}


class EventStore(Protocol):
    """What the hub's routes need from a store."""

    async def publish(
        self,
        *,
        topic: str,
        data_json: str,
        metadata_json: str | None,
        notified: Sequence[str],
        created_by: str,
    ) -> bool:
        """Keep the event if a subscription that was not notified wants it; True if kept."""
        ...

    async def upsert_subscription(self, id: str, topics: Sequence[str], created_by: str) -> None:
        """Create the subscription (reading from now on) or update its topics."""
        ...

    async def read(self, id: str) -> list[StoredEvent] | None:
        """The next events for subscription ``id`` (advancing it); ``None`` if it is unknown."""
        ...

    async def topics_of(self, id: str) -> list[str]:
        """The topics of subscription ``id`` (none when it is unknown)."""
        ...

    def watch(self, topics: Sequence[str]) -> AbstractAsyncContextManager[Watch]:
        """Watch ``topics`` for new events while the block runs (enter it before reading)."""
        ...

    async def cleanup(self) -> int:
        """Drop events past the retention window and stale subscriptions; return how many."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class Watch:
    """A registered interest in some topics; :meth:`wait` returns once one was notified.

    Register it *before* reading, so a notification that lands between the read and
    the wait is not lost.
    """

    def __init__(self, topics: Sequence[str]) -> None:
        """Watch ``topics``."""
        self.topics = frozenset(topics)
        self.event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        """Return when notified (perhaps already), or after ``seconds``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.event.wait()


@dataclass
class _Waiters:
    entries: list[Watch] = field(default_factory=list[Watch])

    def notify(self, topic: str) -> None:
        for watch in self.entries:
            if topic in watch.topics:
                watch.event.set()

    def wake_all(self) -> None:
        for watch in self.entries:
            watch.event.set()

    @contextlib.asynccontextmanager
    async def watch(self, topics: Sequence[str]) -> AsyncGenerator[Watch]:
        watch = Watch(topics)
        self.entries.append(watch)
        try:
            yield watch
        finally:
            self.entries.remove(watch)


class MemoryEventStore:
    """The store for a hub without PostgreSQL: one process, the last ``capacity`` events."""

    def __init__(self, capacity: int = 1000) -> None:
        """Keep at most ``capacity`` events."""
        self._capacity = capacity
        self._events: list[tuple[StoredEvent, frozenset[str]]] = []
        self._subscriptions: dict[str, tuple[frozenset[str], int]] = {}
        self._next_id = 1
        self._waiters = _Waiters()

    async def publish(
        self,
        *,
        topic: str,
        data_json: str,
        metadata_json: str | None,
        notified: Sequence[str],
        created_by: str,
    ) -> bool:
        """See :meth:`EventStore.publish`."""
        skip = frozenset(notified)
        if not any(
            topic in topics and sub not in skip for sub, (topics, _) in self._subscriptions.items()
        ):
            return False
        event = StoredEvent(self._next_id, topic, data_json, metadata_json)
        self._next_id += 1
        self._events.append((event, skip))
        del self._events[: max(0, len(self._events) - self._capacity)]
        self._waiters.notify(topic)
        return True

    async def upsert_subscription(self, id: str, topics: Sequence[str], created_by: str) -> None:
        """See :meth:`EventStore.upsert_subscription`."""
        current = self._subscriptions.get(id)
        read_until = current[1] if current is not None else self._next_id - 1
        self._subscriptions[id] = (frozenset(topics), read_until)

    async def read(self, id: str) -> list[StoredEvent] | None:
        """See :meth:`EventStore.read`."""
        current = self._subscriptions.get(id)
        if current is None:
            return None
        topics, read_until = current
        found = [
            event
            for event, notified in self._events
            if event.id > read_until and event.topic in topics and id not in notified
        ][:READ_LIMIT]
        if found:
            self._subscriptions[id] = (topics, found[-1].id)
        return found

    async def topics_of(self, id: str) -> list[str]:
        """See :meth:`EventStore.topics_of`."""
        current = self._subscriptions.get(id)
        return [] if current is None else sorted(current[0])

    def watch(self, topics: Sequence[str]) -> AbstractAsyncContextManager[Watch]:
        """See :meth:`EventStore.watch`."""
        return self._waiters.watch(topics)

    async def cleanup(self) -> int:
        """Nothing to do: the capacity bounds the store."""
        return 0

    async def aclose(self) -> None:
        """Nothing to release."""


class PostgresEventStore:
    """The store on the ``events`` plugin's PostgreSQL database, shared by every replica.

    Publishes take a transaction-level advisory lock, so events commit in the
    order of their ids and a read never advances past an event still being
    committed. One ``LISTEN`` connection per hub process wakes its waiting polls.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        """Use ``engine`` (the plugin's database) for the tables and the listener."""
        self._engine = engine
        self._waiters = _Waiters()
        self._listener: Any = None
        self._closed = False
        self._listen_task: asyncio.Task[None] | None = None
        self._listen_lock = asyncio.Lock()

    async def _execute(self, sql: str, params: dict[str, object]) -> Any:
        from sqlalchemy import text

        async with self._engine.begin() as connection:
            return await connection.execute(text(sql), params)

    async def publish(
        self,
        *,
        topic: str,
        data_json: str,
        metadata_json: str | None,
        notified: Sequence[str],
        created_by: str,
    ) -> bool:
        """See :meth:`EventStore.publish`."""
        from sqlalchemy import text

        async with self._engine.begin() as connection:
            await connection.execute(text(f"SELECT pg_advisory_xact_lock({_PUBLISH_LOCK})"))
            result = await connection.execute(
                text(
                    "INSERT INTO event_bus_events "
                    "(created_by, topic, data_json, metadata_json, notified_subscribers) "
                    "SELECT :by, :topic, :data, :meta, CAST(:notified AS TEXT[]) "
                    "WHERE EXISTS (SELECT 1 FROM event_bus_subscriptions "
                    "WHERE :topic = ANY(topics) AND NOT (id = ANY(CAST(:notified AS TEXT[])))) "
                    "RETURNING id"
                ),
                {
                    "by": created_by,
                    "topic": topic,
                    "data": data_json,
                    "meta": metadata_json,
                    "notified": list(notified),
                },
            )
            stored = result.first() is not None
            if stored:
                await connection.execute(
                    text("SELECT pg_notify(:channel, :topic)"), {"channel": CHANNEL, "topic": topic}
                )
        return stored

    async def upsert_subscription(self, id: str, topics: Sequence[str], created_by: str) -> None:
        """See :meth:`EventStore.upsert_subscription`."""
        await self._execute(
            "INSERT INTO event_bus_subscriptions (id, created_by, read_until, topics) "
            "VALUES (:id, :by, (SELECT coalesce(max(id), 0) FROM event_bus_events), "
            "CAST(:topics AS TEXT[])) "
            "ON CONFLICT (id) DO UPDATE SET topics = excluded.topics, updated_at = now()",
            {"id": id, "by": created_by, "topics": list(topics)},
        )

    async def read(self, id: str) -> list[StoredEvent] | None:
        """See :meth:`EventStore.read`."""
        from sqlalchemy import text

        async with self._engine.begin() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT read_until, topics FROM event_bus_subscriptions "
                        "WHERE id = :id FOR UPDATE"
                    ),
                    {"id": id},
                )
            ).first()
            if row is None:
                return None
            rows = (
                await connection.execute(
                    text(
                        "SELECT id, topic, data_json, metadata_json FROM event_bus_events "
                        "WHERE id > :after AND topic = ANY(CAST(:topics AS TEXT[])) "
                        "AND NOT (:id = ANY(notified_subscribers)) ORDER BY id LIMIT :limit"
                    ),
                    {"after": row[0], "topics": list(row[1]), "id": id, "limit": READ_LIMIT},
                )
            ).all()
            events = [StoredEvent(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]
            await connection.execute(
                text(
                    "UPDATE event_bus_subscriptions SET updated_at = now(), "
                    "read_until = greatest(read_until, :last) WHERE id = :id"
                ),
                {"id": id, "last": events[-1].id if events else 0},
            )
        return events

    async def _ensure_listener(self) -> None:
        async with self._listen_lock:
            if self._closed or (self._listen_task is not None and not self._listen_task.done()):
                return
            import psycopg

            await self._close_listener()  # a listener whose task ended (its server went away)
            url = self._engine.url.set(drivername="postgresql")
            conninfo = url.render_as_string(hide_password=False)
            listener = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            try:
                await listener.execute(f"LISTEN {CHANNEL}")
            except BaseException:
                await listener.close()
                raise
            if self._is_closed():  # aclose() ran while this connected
                await listener.close()
                return
            self._listener = listener
            self._listen_task = asyncio.create_task(self._listen(listener), name="events-listen")

    def _is_closed(self) -> bool:
        return self._closed

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close()

    async def _listen(self, connection: Any) -> None:
        try:
            async for notify in connection.notifies():
                self._waiters.notify(str(notify.payload))
        except Exception:
            self._waiters.wake_all()

    async def topics_of(self, id: str) -> list[str]:
        """See :meth:`EventStore.topics_of`."""
        result = await self._execute(
            "SELECT topics FROM event_bus_subscriptions WHERE id = :id", {"id": id}
        )
        row = result.first()
        return [] if row is None else [str(topic) for topic in row[0]]

    @contextlib.asynccontextmanager
    async def watch(self, topics: Sequence[str]) -> AsyncGenerator[Watch]:
        """See :meth:`EventStore.watch`: woken by a ``NOTIFY`` of one of ``topics``."""
        # Without a listener (the server refused it) a waiting poll just times out.
        with contextlib.suppress(Exception):
            await self._ensure_listener()
        async with self._waiters.watch(topics) as watch:
            yield watch

    async def cleanup(self) -> int:
        """Drop what is past Backstage's window.

        That is events older than a day, or beyond the newest 10 000 and older than 10
        minutes, and subscriptions nobody read for a day.
        """
        result = await self._execute(
            "DELETE FROM event_bus_events WHERE created_at < now() - interval '1 day' "
            "OR (created_at < now() - interval '10 minutes' "
            "AND id <= (SELECT max(id) - 10000 FROM event_bus_events))",
            {},
        )
        subscriptions = await self._execute(
            "DELETE FROM event_bus_subscriptions WHERE updated_at < now() - interval '1 day'", {}
        )
        return int(result.rowcount or 0) + int(subscriptions.rowcount or 0)

    async def aclose(self) -> None:
        """Stop listening and close the listener connection (also one still connecting)."""
        self._closed = True
        task, self._listen_task = self._listen_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._close_listener()
