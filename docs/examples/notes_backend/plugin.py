"""The ``notes`` plugin: typed routes with FastAPI, per-request injection, OpenAPI.

HTTP API, at ``/api/notes`` (OpenAPI at ``/api/notes/openapi.json``, docs at
``/api/notes/docs``):

``GET /notes``
    Every note. Open to anyone (an auth policy).
``GET /notes/{index}``
    One note; 404 in Backstage's JSON error shape when there is none.
``POST /notes``
    ``{"text": "...", "tags": [...]}``: add a note; service callers only (a user
    gets 403). Answers ``{"index": <n>, "by": <caller>}`` with 201.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from di_backend import (
    PluginRegistrationPoints,
    ServiceRef,
    core_services,
    create_backend_plugin,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend.fastapi import credentials, service
from di_backend.http import NotFoundError
from di_backend.services import (
    BackstageCredentials,
    BackstageServicePrincipal,
    HttpRouterService,
    LoggerService,
)


class Note(BaseModel):
    """A note."""

    text: str = Field(min_length=1, max_length=500)
    tags: list[str] = []


class NoteStore:
    """The notes of one plugin, in memory (a real plugin would use ``core.database``)."""

    def __init__(self) -> None:
        self.notes: list[Note] = [Note(text="FastAPI routes live in plugins too")]


notes_store: ServiceRef[NoteStore] = create_service_ref(
    id="notes.store", default_factory=lambda ref: create_service_factory(ref, NoteStore)
)
"""The plugin's store; tests replace it with their own factory."""

app = FastAPI(title="notes", summary="Notes, written with FastAPI in a di_backend plugin")


@app.get("/notes")
async def list_notes(store: Annotated[NoteStore, Depends(service(notes_store))]) -> list[Note]:
    """Every note."""
    return store.notes


@app.get("/notes/{index}")
async def get_note(index: int, store: Annotated[NoteStore, Depends(service(notes_store))]) -> Note:
    """One note by its index."""
    if not 0 <= index < len(store.notes):
        msg = f"No note {index}"
        raise NotFoundError(msg)
    return store.notes[index]


@app.post("/notes", status_code=201)
async def add_note(
    note: Note,
    caller: Annotated[
        BackstageCredentials[BackstageServicePrincipal], Depends(credentials(allow=["service"]))
    ],
    store: Annotated[NoteStore, Depends(service(notes_store))],
) -> dict[str, object]:
    """Add a note (service callers only)."""
    store.notes.append(note)
    return {"index": len(store.notes) - 1, "by": caller.principal.subject}


def _register(env: PluginRegistrationPoints) -> None:
    async def init(
        http_router: HttpRouterService = inject(core_services.http_router),
        logger: LoggerService = inject(core_services.logger),
    ) -> None:
        http_router.use(app)
        http_router.add_auth_policy(path="/notes", allow="unauthenticated")
        logger.info("Notes served with FastAPI; OpenAPI at /api/notes/openapi.json")

    env.register_init(init)


notes_plugin = create_backend_plugin(plugin_id="notes", register=_register)
"""A plugin whose routes are a FastAPI app (``GET/POST /api/notes/notes``)."""
