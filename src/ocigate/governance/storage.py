"""What governance asks of the database, as Protocols that the ``store`` package implements.

The store sits above governance (its tables hold governance's records: keys, usage, audit rows), so governance
never imports it. The composition root (``app``) builds the store objects on the gateway's database and hands
:class:`~ocigate.governance.service.Governance` a function that opens them (:data:`OpenStores`, called on first
need only, so that a gateway that never looks a key up never loads SQLAlchemy) and, on the embedded SQLite
default, the faster usage writer (:class:`UsageWriter`) and key reader (:class:`KeyReads`)::

    async def open_stores(hasher: KeyHasher) -> Stores:          # app/storage.py
        engine = await database()
        return Stores(KeyStore(engine, hasher), UsageStore(engine), AuditStore(engine))

    governance = Governance(settings, open_stores, usage_writer=SqliteUsageWriter(path),
                            key_reads=SqliteKeyReader(path))

:class:`KeyTable` and :class:`UsageTable` also list what the admin API does with them through
``Governance.stores()``: create, list, rotate, revoke and update keys, and the usage report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ocigate.governance.audit import AuditRecord
from ocigate.governance.keys import Budget, BudgetUnit, KeyHasher, KeyRecord
from ocigate.governance.usage import GroupBy, UsageRecord


class IssuedKey(Protocol):
    """A key just created or rotated: the only time its secret exists outside the client."""

    @property
    def record(self) -> KeyRecord: ...

    @property
    def secret(self) -> str: ...


class KeyTable(Protocol):
    def listen(self, listener: Callable[[str], Awaitable[None]]) -> None:
        """Calls ``listener(key_id)`` after every change to a key (the key cache's ``invalidate``)."""

    async def get_by_hash(self, key_hash: str) -> KeyRecord | None: ...

    async def get(self, key_id: str) -> KeyRecord | None: ...

    async def create(
        self,
        name: str,
        *,
        team: str | None = ...,
        user: str | None = ...,
        allowed_models: Iterable[str] = ...,
        rpm: int | None = ...,
        tpm: int | None = ...,
        max_concurrent: int | None = ...,
        budget: Budget | None = ...,
        expires_at: float | None = ...,
        metadata: Mapping[str, Any] | None = ...,
    ) -> IssuedKey: ...

    async def rotate(self, key_id: str) -> IssuedKey: ...

    async def revoke(self, key_id: str) -> KeyRecord: ...

    async def update(
        self,
        key_id: str,
        *,
        name: str = ...,
        team: str | None = ...,
        user: str | None = ...,
        allowed_models: Iterable[str] = ...,
        rpm: int | None = ...,
        tpm: int | None = ...,
        max_concurrent: int | None = ...,
        budget: Budget | None = ...,
        expires_at: float | None = ...,
        metadata: Mapping[str, Any] = ...,
    ) -> KeyRecord:
        """Changes what is given (None clears a limit); what is omitted is kept."""

    # Last: below this line, ``list`` in an annotation would name this method.
    async def list(self, *, team: str | None = None, include_revoked: bool = True) -> list[KeyRecord]: ...


class UsageRow(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class UsageWriter(Protocol):
    """Where usage records go instead of the usage table: the embedded SQLite default's own writer."""

    async def insert(self, records: Sequence[UsageRecord]) -> None: ...

    async def close(self) -> None:
        """After the usage batch writer's own close: nothing is inserted any more."""


class KeyReads(Protocol):
    """What the request path reads of keys, where the database has a faster reader than the key and usage tables:
    the embedded SQLite default's (``store/keys_sqlite.py``), so that a request with a team key loads no ORM."""

    async def get_by_hash(self, key_hash: str) -> KeyRecord | None: ...

    async def spent_since(self, key_id: str, since: float, unit: BudgetUnit) -> float: ...

    async def close(self) -> None: ...


class UsageTable(Protocol):
    async def insert(self, records: Sequence[UsageRecord]) -> None: ...

    async def spent_since(self, key_id: str, since: float, unit: BudgetUnit) -> float: ...

    async def report(
        self,
        *,
        since: float,
        until: float,
        by: Sequence[GroupBy] = ...,
        key_id: str | None = ...,
        team: str | None = ...,
        model: str | None = ...,
        limit: int = ...,
    ) -> Sequence[UsageRow]: ...


class AuditTable(Protocol):
    async def insert(self, records: Sequence[AuditRecord]) -> None: ...


@dataclass(frozen=True, slots=True)
class Stores:
    keys: KeyTable
    usage: UsageTable
    audit: AuditTable


OpenStores = Callable[[KeyHasher], Awaitable[Stores]]
"""Opens the key, usage and audit tables; the keys are stored as hashes made by the given hasher."""
