"""Stored responses: what ``previous_response_id``, ``GET``/``DELETE /v1/responses/{id}`` and ``input_items``
read. The gateway keeps them itself, for every model: Oracle's own are bound to one region and key, and many
models have no Responses API at Oracle at all."""

from __future__ import annotations

import asyncio

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ocigate.core.types import JSON
from ocigate.store.records import MASTER, StoredResponse
from ocigate.store.tables import responses

MAX_CHAIN = 200  # how far back previous_response_id is followed


class ResponseStore:
    """Saves are committed in groups: while one transaction runs, the saves that arrive meanwhile wait and go
    together in the next, so concurrent requests share commits (SQLite has one writer) and each caller still
    returns only once its row is durable."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pending: list[tuple[JSON, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def save(self, record: StoredResponse) -> None:
        row = {
            "id": record.id,
            "created_at": record.created_at,
            "model": record.model,
            "previous_response_id": record.previous_response_id,
            "owner": record.owner,
            "input_items": orjson.dumps(record.input_items).decode(),
            "response": orjson.dumps(record.response).decode(),
        }
        done = asyncio.get_running_loop().create_future()
        self._pending.append((row, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        await done

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(insert(responses), [row for row, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every waiting caller
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def get(self, response_id: str, owner: str | None = None) -> StoredResponse | None:
        """The response, if it is stored and ``owner`` (when given) made it: another owner's is as absent as one
        that never existed. ``owner`` None: any (the master key)."""
        query = select(responses).where(responses.c.id == response_id)
        if owner is not None:
            query = query.where(responses.c.owner == owner)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return StoredResponse(
            id=row.id,
            created_at=row.created_at,
            model=row.model,
            previous_response_id=row.previous_response_id,
            input_items=orjson.loads(row.input_items),
            response=orjson.loads(row.response),
            owner=row.owner or MASTER,
        )

    async def delete(self, response_id: str, owner: str | None = None) -> bool:
        statement = delete(responses).where(responses.c.id == response_id)
        if owner is not None:
            statement = statement.where(responses.c.owner == owner)
        async with self._engine.begin() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount)

    async def chain(self, response_id: str, owner: str | None = None) -> list[StoredResponse] | None:
        """The conversation up to and including ``response_id``, oldest first; None when it is not stored (or not
        ``owner``'s). A link deleted further back, or another owner's, ends the chain there, as a deleted one
        does at OpenAI."""
        found: list[StoredResponse] = []
        current: str | None = response_id
        while current is not None and len(found) < MAX_CHAIN:
            record = await self.get(current, owner)
            if record is None:
                if not found:
                    return None
                break
            found.append(record)
            current = record.previous_response_id
        found.reverse()
        return found
