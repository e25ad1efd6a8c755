"""Group commit of single fixes (Traccar Client / OsmAnd): concurrent requests, one transaction.

Each request parses its fix and hands it to the process's :class:`GroupWriter`, then waits. The
writer takes every fix waiting (at most ``max_fixes``; after a first fix it yields ``wait_s``
for others to arrive) and stores them with :func:`store_group`: one query for the devices and
their latest fixes, the same checks, conversion, grid and flags as ``pipeline.ingest_one``, and
one INSERT that is its own transaction. Only after that commit is each request answered, so an
acknowledged fix is on disk, as before.

Failures: a fix the pipeline refuses (unknown device, wrong secret, unusable time) fails its
own request only. A database error fails the group; a group of several is then stored again one
fix at a time, so one fix the database refuses fails only its own request; an error that is
not the fix's (the database down) answers every waiting request with it (503 problem+json by
the error table), never a silent drop. A dropped pooled connection is retried once on a fresh
one (the insert skips fixes already stored, so a retry stores nothing twice).

Idempotency is the primary key's, as before: a resent fix is a duplicate (200, not stored
again); two requests with the same (device, fix time) in one group: the first is stored, the
second counts as a duplicate. Fixes of one device in one group are flagged in time order, each
against the one before it (a single-fix request saw only the stored fixes before).
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg

from api.ingest.pipeline import (
    FixColumns,
    IngestResult,
    PreviousFix,
    _city,
    _convert_speeds,
    _counts,
    _process,
    _refuse_unusable_times,
    cgcs2000_positions,
)
from gis.crs import to_metric
from gis.tracks import UNUSABLE, FlagLimits, flag_next_fixes
from layers import fix_groups, positions
from layers.device_latest import LATEST_UNUSABLE
from layers.devices import check_secret_hash, device_not_found
from layers.positions import PARTITIONS, FixRows, fix_times_us, fix_values

MAX_GROUP_FIXES = 200
"""Fixes stored in one statement at most (18 parameters each)."""
GROUP_WAIT_S = 0.0
"""Seconds the writer waits after a first fix for others (0: only those already waiting,
which under load are the ones that arrived during the previous group's commit)."""


@dataclass
class SingleFix:
    """One request's fix(es) of one device, as parsed (``fixes`` usually holds one)."""

    external_id: str
    secret: str | None
    fixes: FixColumns
    source: str
    id_field: str = "id"


Outcome = IngestResult | BaseException


def store_group(
    *,
    state: Any,
    items: Sequence[SingleFix],
    metric_srid: int = 4549,
    limits: FlagLimits = FlagLimits(),
) -> list[Outcome]:
    """Store the fixes of ``items`` (any devices) in one transaction; per item its
    :class:`IngestResult` or the exception that refused it (``DeviceNotFound``, ``AuthError``,
    ``FixRefused``). Raises a database error (``psycopg.Error``) for the whole group: nothing of
    it is then stored. Blocking; call it from a worker thread."""
    engine = getattr(state, "ingest_engine", None) or state.engine
    for attempt in (1, 2):
        try:
            with positions.direct_connection(engine) as conn:
                return _store_group(conn, state, items, metric_srid, limits)
        except psycopg.OperationalError:
            # A pooled connection the database dropped (restart): once more on a fresh one.
            # Safe: the lookup only reads and the insert skips fixes already stored.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _store_group(
    conn: Any,
    state: Any,
    items: Sequence[SingleFix],
    metric_srid: int,
    limits: FlagLimits,
) -> list[Outcome]:
    now = datetime.now(UTC)
    devices = fix_groups.devices_with_latest(conn, [item.external_id for item in items])
    outcomes: list[Outcome | None] = [None] * len(items)
    ready: dict[int, list[int]] = defaultdict(list)  # device id -> item indexes
    for k, item in enumerate(items):
        try:
            found = devices.get(item.external_id)
            if found is None:
                raise device_not_found(item.external_id, item.id_field)
            check_secret_hash(item.external_id, found[1], item.secret)
            _refuse_unusable_times(item.fixes, now)
            if item.fixes.speed_in_device_unit:
                _convert_speeds(item.fixes, found[2])
        except Exception as exc:  # a refusal of this fix only (a domain error)
            outcomes[k] = exc
            continue
        if len(item.fixes) == 0:
            outcomes[k] = IngestResult(len(item.fixes.errors), 0, 0, item.fixes.errors, {})
        else:
            ready[found[0]].append(k)
    times = [t for ks in ready.values() for k in ks for t in items[k].fixes.fix_time]
    if times:
        PARTITIONS.ensure(engine=state.engine, times=times)
    values: list[tuple[Any, ...]] = []
    keys: dict[tuple[int, datetime], int] = {}  # (device, fix time) -> first item that has it
    made: dict[int, tuple[Any, list[tuple[int, datetime]]]] = {}
    # the usual group: one fix of each of many devices, processed as arrays in one go
    singles: dict[str, list[tuple[int, int, PreviousFix]]] = defaultdict(list)
    for device_id, ks in list(ready.items()):
        if len(ks) == 1 and len(items[ks[0]].fixes) == 1:
            item = items[ks[0]]
            latest = devices[item.external_id][3]
            prev = _previous(conn, device_id, item.fixes.fix_time[0], latest, None)
            singles[item.source].append((ks[0], device_id, prev))
            del ready[device_id]
    for source, entries in singles.items():
        rows = _process_singles(state, items, entries, source, now, metric_srid, limits)
        for i, (k, device_id, _) in enumerate(entries):
            key = (device_id, rows.fix_time[i])
            keys[key] = k
            values.append(fix_values(rows, i, now))
            made[k] = (rows.flags[i : i + 1], [key])
    for device_id, ks in ready.items():
        ks.sort(key=lambda k: min(items[k].fixes.fix_time))
        latest = devices[items[ks[0]].external_id][3]
        chain: PreviousFix = None  # the last usable fix of this device earlier in the group
        for k in ks:
            item = items[k]
            first = min(item.fixes.fix_time)
            prev = _previous(conn, device_id, first, latest, chain)
            rows, _ = _process(
                state=state, session=None, device_id=device_id, fixes=item.fixes,
                source=item.source, now=now, previous_of=_constant(prev),
                metric_srid=metric_srid, limits=limits,
            )  # fmt: skip
            own: list[tuple[int, datetime]] = []
            for i in range(len(rows)):
                key = (device_id, rows.fix_time[i])
                own.append(key)
                if key not in keys:
                    keys[key] = k
                    values.append(fix_values(rows, i, now))
                if not int(rows.flags[i]) & UNUSABLE and (
                    chain is None or rows.fix_time[i] > chain[0]
                ):
                    chain = (rows.fix_time[i], float(rows.lon[i]), float(rows.lat[i]))
            made[k] = (rows.flags, own)
    inserted = fix_groups.insert_fixes(conn, values)
    for k, (flags, own) in made.items():
        stored = sum(1 for key in own if key in inserted and keys[key] == k)
        fixes = items[k].fixes
        outcomes[k] = IngestResult(
            len(fixes) + len(fixes.errors), stored, len(fixes) - stored, fixes.errors,
            _counts(flags),
        )  # fmt: skip
    return [o if o is not None else RuntimeError("fix not processed") for o in outcomes]


def _process_singles(
    state: Any,
    items: Sequence[SingleFix],
    entries: Sequence[tuple[int, int, PreviousFix]],
    source: str,
    now: datetime,
    metric_srid: int,
    limits: FlagLimits,
) -> FixRows:
    """``pipeline._process`` of many one-fix items of distinct devices as arrays: item
    ``entries[i] = (index into items, device id, its previous usable fix)`` is row ``i``."""
    n = len(entries)
    fixes = [items[k].fixes for k, _, _ in entries]

    def column(name: str) -> np.ndarray:
        return np.fromiter((getattr(f, name)[0] for f in fixes), dtype=np.float64, count=n)

    times = [f.fix_time[0] for f in fixes]
    t_s = fix_times_us(times) / 1e6  # the same floats as pipeline._process
    raw_lon, raw_lat = column("lon"), column("lat")
    datum = np.asarray([f.datum[0] for f in fixes], dtype=object)
    lon, lat = cgcs2000_positions(raw_lon, raw_lat, datum)
    l3 = _city(state, None).locator.locate(lon, lat).l3
    prevs = [p for _, _, p in entries]
    prev_t = np.asarray([np.nan if p is None else p[0].timestamp() for p in prevs])
    prev_lon = np.asarray([lon[i] if p is None else p[1] for i, p in enumerate(prevs)])
    prev_lat = np.asarray([lat[i] if p is None else p[2] for i, p in enumerate(prevs)])
    x_m, y_m = to_metric(np.concatenate([lon, prev_lon]), np.concatenate([lat, prev_lat]),
                         metric_srid)  # fmt: skip
    accuracy = column("accuracy_m")
    flags = flag_next_fixes(
        t_s, x_m[:n], y_m[:n], accuracy, now.timestamp(),
        inside_city=np.array([c is not None for c in l3], dtype=bool),
        client_valid=np.fromiter((f.valid[0] for f in fixes), dtype=bool, count=n),
        previous_t_s=prev_t, previous_x_m=x_m[n:], previous_y_m=y_m[n:], limits=limits,
    )  # fmt: skip
    return FixRows(
        device_id=np.asarray([d for _, d, _ in entries]),
        fix_time=times, lon=lon, lat=lat, raw_lon=raw_lon, raw_lat=raw_lat,
        datum=datum.tolist(), accuracy_m=accuracy, speed_mps=column("speed_mps"),
        course_deg=column("course_deg"), altitude_m=column("altitude_m"),
        battery_pct=column("battery_pct"), grid_code=l3.tolist(), flags=flags,
        seq=[f.seq[0] for f in fixes], source=source,
        attributes=[f.attributes[0] for f in fixes],
    )  # fmt: skip


def _constant(prev: PreviousFix) -> Callable[[datetime], PreviousFix]:
    return lambda _first: prev


def _previous(
    conn: Any, device_id: int, first: datetime, latest: PreviousFix, chain: PreviousFix
) -> PreviousFix:
    """The last usable fix of the device before ``first``: an earlier fix of the group, else
    the stored latest one when it is older (a phone sending live), else looked up (a backlog)."""
    if chain is not None and chain[0] < first:
        return chain
    if latest is None:
        return None
    if latest[0] < first and UNUSABLE == LATEST_UNUSABLE:
        return latest
    return fix_groups.previous_fix(conn, device_id=device_id, before=first, unusable_flags=UNUSABLE)


class GroupWriter:
    """Gathers the single fixes of one process (one event loop) into groups stored by one
    worker thread; :meth:`submit` returns once the fix's group is committed.

    ``store`` is :func:`store_group` bound to the app state (a test passes its own)."""

    def __init__(
        self,
        store: Callable[[Sequence[SingleFix]], list[Outcome]],
        *,
        max_fixes: int = MAX_GROUP_FIXES,
        wait_s: float = GROUP_WAIT_S,
    ) -> None:
        self._store = store
        self._max = max_fixes
        self._wait_s = wait_s
        self._queue: list[tuple[SingleFix, asyncio.Future[IngestResult]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="fix-group")
        self.groups = 0  # groups stored so far, their fixes and the largest (for the bench)
        self.fixes = 0
        self.largest = 0

    async def submit(self, item: SingleFix) -> IngestResult:
        """Store ``item`` with whatever else is waiting; its result once committed, or the
        exception that refused it (or failed its group)."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._loop is not loop or self._task.done():
            self._loop = loop
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run(), name="fix-group-writer")
        future: asyncio.Future[IngestResult] = loop.create_future()
        self._queue.append((item, future))
        assert self._wake is not None
        self._wake.set()
        return await future

    async def _run(self) -> None:
        assert self._wake is not None and self._loop is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._wait_s > 0:
                await asyncio.sleep(self._wait_s)
            while self._queue:
                group, self._queue = self._queue[: self._max], self._queue[self._max :]
                await self._flush(group)

    async def _flush(self, group: list[tuple[SingleFix, asyncio.Future[IngestResult]]]) -> None:
        assert self._loop is not None
        items = [item for item, _ in group]
        try:
            outcomes = await self._loop.run_in_executor(self._executor, self._store_split, items)
        except Exception as exc:  # every waiting request gets the error
            outcomes = [exc] * len(items)
        self.groups += 1
        self.largest = max(self.largest, len(items))
        self.fixes += len(items)
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if future.done():  # the request went away (client disconnected)
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    def _store_split(self, items: Sequence[SingleFix]) -> list[Outcome]:
        """The group; if the database refuses it, each fix alone (so that one bad fix fails
        only its own request), unless the database itself is at fault."""
        try:
            return self._store(items)
        except psycopg.OperationalError:
            raise  # the server, not a fix: every request of the group gets it
        except psycopg.Error:
            if len(items) == 1:
                raise
        outcomes: list[Outcome] = []
        for item in items:
            try:
                outcomes.extend(self._store([item]))
            except psycopg.Error as exc:
                outcomes.append(exc)
        return outcomes

    def close(self) -> None:
        """Stop the worker thread (pending groups finish first)."""
        self._executor.shutdown(wait=True)


_LOCK = threading.Lock()


def writer_for(state: Any) -> GroupWriter:
    """The process's group writer for the app ``state`` (made on first use)."""
    writer = getattr(state, "fix_writer", None)
    if writer is None:
        with _LOCK:
            writer = getattr(state, "fix_writer", None)
            if writer is None:
                srid = state.settings.geo.metric_srid if hasattr(state, "settings") else 4549
                writer = GroupWriter(
                    lambda items: store_group(state=state, items=items, metric_srid=srid)
                )
                state.fix_writer = writer
    return writer


__all__ = ["GroupWriter", "SingleFix", "store_group", "writer_for"]
