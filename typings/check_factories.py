"""Pins ``create_service_factory``: it returns ``ServiceFactory[T]`` for the ref's ``T``.

The factory may be a plain, ``async``, generator or async-generator function, with
or without ``create_root_context`` (plain or ``async``); its return (or yield) type
must satisfy the ref. Type-checked by mypy --strict and pyright strict, never run;
a line ending in a ``type: ignore`` comment with a code is a mistake both checkers
must report on that line.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from dataclasses import dataclass
from typing import Protocol, assert_type

from di_backend import (
    ExtensionPoint,
    Initialization,
    MultitonServiceRef,
    ServiceFactory,
    ServiceRef,
    core_services,
    create_extension_point,
    create_service_factory,
    create_service_ref,
    create_specialized_backend,
    inject,
)
from di_backend.services import LoggerService, RootConfigService, RootLoggerService


class TodoStore(Protocol):
    async def list(self) -> list[str]: ...


class Database(Protocol):
    def query(self, sql: str) -> list[str]: ...


class Action(Protocol):
    def run(self) -> None: ...


class SqlTodoStore:
    """Satisfies ``TodoStore`` structurally and carries more."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self) -> list[str]:
        return self.db.query("select title from todos")

    def close(self) -> None: ...


class SqliteDatabase:
    def query(self, sql: str) -> list[str]:
        return []


class PrintAction:
    def run(self) -> None: ...


@dataclass
class PoolContext:
    """What a root context hands to every plugin's instance."""

    dsn: str


todo_store: ServiceRef[TodoStore] = create_service_ref(id="todo.store")
database: ServiceRef[Database] = create_service_ref(id="core.database", scope="root")
actions: MultitonServiceRef[Action] = create_service_ref(id="todo.actions", multiton=True)
todo_ext: ExtensionPoint[Action] = create_extension_point(id="todo.extension")

# --- accepted -------------------------------------------------------------------------


# api.md's example: an async factory.
async def make_store(db: Database = inject(database)) -> TodoStore:
    return SqlTodoStore(db)


todo_store_factory = create_service_factory(todo_store, make_store)
assert_type(todo_store_factory, ServiceFactory[TodoStore])


# A plain factory, returning a class that satisfies the Protocol.
def make_store_sync(db: Database = inject(database)) -> SqlTodoStore:
    return SqlTodoStore(db)


assert_type(create_service_factory(todo_store, make_store_sync), ServiceFactory[TodoStore])


# Root scope, no dependencies, eager by default ("always").
def make_database() -> SqliteDatabase:
    return SqliteDatabase()


assert_type(create_service_factory(database, make_database), ServiceFactory[Database])
assert_type(
    create_service_factory(database, make_database, initialization="lazy"),
    ServiceFactory[Database],
)


# A generator factory: the code after ``yield`` runs at backend stop.
def store_with_teardown(db: Database = inject(database)) -> Iterator[TodoStore]:
    store = SqlTodoStore(db)
    yield store
    store.close()


def store_generator(db: Database = inject(database)) -> Generator[SqlTodoStore, None, None]:
    yield SqlTodoStore(db)


assert_type(create_service_factory(todo_store, store_with_teardown), ServiceFactory[TodoStore])
assert_type(create_service_factory(todo_store, store_generator), ServiceFactory[TodoStore])


# An async generator factory.
async def store_async_teardown(
    db: Database = inject(database),
    logger: LoggerService = inject(core_services.logger),
) -> AsyncIterator[TodoStore]:
    yield SqlTodoStore(db)
    logger.info("store closed")


async def store_async_generator() -> AsyncGenerator[SqlTodoStore, None]:
    yield SqlTodoStore(SqliteDatabase())


assert_type(create_service_factory(todo_store, store_async_teardown), ServiceFactory[TodoStore])
assert_type(create_service_factory(todo_store, store_async_generator), ServiceFactory[TodoStore])

# A lambda, and a class (its constructor is the factory).
shared_database = SqliteDatabase()
assert_type(create_service_factory(database, lambda: shared_database), ServiceFactory[Database])
assert_type(create_service_factory(database, SqliteDatabase), ServiceFactory[Database])

# A multiton ref: each factory produces one item of the list.
assert_type(create_service_factory(actions, PrintAction), ServiceFactory[Action])


# create_root_context: its result is the factory's first positional parameter.
def root_context(config: RootConfigService = inject(core_services.root_config)) -> PoolContext:
    return PoolContext(config.get_string("database.dsn"))


async def async_root_context(
    config: RootConfigService = inject(core_services.root_config),
    root_logger: RootLoggerService = inject(core_services.root_logger),
) -> PoolContext:
    root_logger.info("pool ready")
    return PoolContext(config.get_string("database.dsn"))


def store_from_context(
    ctx: PoolContext, logger: LoggerService = inject(core_services.logger)
) -> TodoStore:
    logger.info(f"connecting to {ctx.dsn}")
    return SqlTodoStore(SqliteDatabase())


async def async_store_from_context(ctx: PoolContext) -> SqlTodoStore:
    return SqlTodoStore(SqliteDatabase())


def generator_store_from_context(ctx: object) -> Iterator[SqlTodoStore]:
    yield SqlTodoStore(SqliteDatabase())


assert_type(
    create_service_factory(todo_store, store_from_context, create_root_context=root_context),
    ServiceFactory[TodoStore],
)
assert_type(
    create_service_factory(todo_store, store_from_context, create_root_context=async_root_context),
    ServiceFactory[TodoStore],
)
assert_type(
    create_service_factory(
        todo_store, async_store_from_context, create_root_context=async_root_context
    ),
    ServiceFactory[TodoStore],
)
# The first parameter may be wider than the context.
assert_type(
    create_service_factory(
        todo_store, generator_store_from_context, create_root_context=root_context
    ),
    ServiceFactory[TodoStore],
)

# ServiceFactory is covariant: a factory of a Protocol is a factory of anything wider.
as_object: ServiceFactory[object] = todo_store_factory
all_factories: list[ServiceFactory[object]] = [todo_store_factory, as_object]

# ...also when created right where a wider factory is expected (mypy infers from the
# outer context first; the ServiceFactory[object] overloads keep this accepted).
wide: ServiceFactory[object] = create_service_factory(database, make_database)
defaults: list[ServiceFactory[object]] = [
    create_service_factory(database, make_database),
    create_service_factory(todo_store, store_from_context, create_root_context=root_context),
    create_service_factory(todo_store, store_from_context, create_root_context=async_root_context),
]
backend = create_specialized_backend(
    default_service_factories=[
        create_service_factory(database, make_database),
        create_service_factory(actions, PrintAction),
    ]
)

# What a factory exposes.
assert_type(todo_store_factory.initialization, Initialization)
assert_type(todo_store_factory.service, ServiceRef[TodoStore] | MultitonServiceRef[TodoStore])

# --- rejected -------------------------------------------------------------------------


def make_logger() -> LoggerService:
    raise NotImplementedError


async def make_logger_async() -> LoggerService:
    return make_logger()


def yield_logger() -> Iterator[LoggerService]:
    yield make_logger()


async def yield_logger_async() -> AsyncIterator[LoggerService]:
    yield make_logger()


# A factory whose return (or yield) type does not satisfy the ref: sync, async,
# generator, async generator, and for a multiton.
create_service_factory(todo_store, make_logger)  # type: ignore[arg-type]
create_service_factory(todo_store, make_logger_async)  # type: ignore[arg-type]
create_service_factory(todo_store, yield_logger)  # type: ignore[arg-type]
create_service_factory(todo_store, yield_logger_async)  # type: ignore[arg-type]
create_service_factory(actions, make_logger)  # type: ignore[arg-type]


# The result of create_root_context does not fit the factory's first parameter
# (sync and async contexts).
def str_context() -> str:
    return "dsn"


async def str_context_async() -> str:
    return "dsn"


create_service_factory(todo_store, store_from_context, create_root_context=str_context)  # type: ignore[arg-type]
create_service_factory(todo_store, store_from_context, create_root_context=str_context_async)  # type: ignore[misc]

# The check holds in a wider context too.
wide_bad: list[ServiceFactory[object]] = [create_service_factory(todo_store, make_logger)]  # type: ignore[arg-type]


# A parameter without an inject(...) default: every factory is called without
# arguments (the root context aside), so it must be a Callable[[], ...].
def needs_argument(db: Database) -> TodoStore:
    return SqlTodoStore(db)


create_service_factory(todo_store, needs_argument)  # type: ignore[arg-type]
# A factory that takes a root context, without create_root_context.
create_service_factory(todo_store, store_from_context)  # type: ignore[arg-type]


# A create_root_context with a parameter without inject(...).
def context_needs_argument(dsn: str) -> PoolContext:
    return PoolContext(dsn)


create_service_factory(todo_store, store_from_context, create_root_context=context_needs_argument)  # type: ignore[arg-type]

# Not a service ref.
create_service_factory(todo_ext, PrintAction)  # type: ignore[call-overload]

# Only "always" and "lazy".
create_service_factory(database, make_database, initialization="eager")  # type: ignore[call-overload]

# A factory is covariant, not contravariant.
narrow: ServiceFactory[SqlTodoStore] = todo_store_factory  # type: ignore[assignment]
