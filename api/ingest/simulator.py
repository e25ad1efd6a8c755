"""A patrol day for the demo staff, sent through the real ingest endpoints over HTTP.

The plan (who, where, which path) is read from the database; the fixes go to the server as
real clients send them: online phones one fix per Traccar/OsmAnd request, phones that were
offline upload their backlog (oldest first) through the batch API once they are back, in
batches, one of which is resent as if its answer had been lost. Live fixes keep flowing while
the backlog uploads, so late fixes land behind newer ones and must still take their place.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
from shapely.geometry import MultiPolygon, Polygon
from shapely.ops import unary_union
from sqlalchemy.orm import Session

from gis.crs import from_metric, wgs84_to_gcj02
from gis.patrolsim import EBIKE, WALK, Mode, SimTrack, patrol_tour
from layers.grids import active_generation, read_grid_frame
from layers.patrol_demo import FieldOfficer, demo_device_secret, demo_officers
from layers.people import StaffRole
from layers.workcal import SHANGHAI

KNOT_MPS = 1852.0 / 3600.0


@dataclass(frozen=True)
class SimOptions:
    """What to simulate. ``hours`` of patrol on ``day`` (Asia/Shanghai) from ``start`` (local
    time); without ``start`` the window ends now (today) or starts at 08:30 (other days).
    ``speedup`` 0 sends as fast as the server takes it; 1 is real time, 60 a minute a second."""

    day: date | None = None
    start: dtime | None = None
    hours: float = 0.5
    devices: int = 30
    speedup: float = 0.0
    seed: int = 320281
    interval_s: float = 5.0
    offline_share: float = 0.25
    batch_size: int = 200
    workers: int = 8
    lunch: timedelta = timedelta(minutes=90)


@dataclass
class DevicePlan:
    officer: FieldOfficer
    secret: str
    mode: Mode
    codes: list[str]  # the unit grids the tour keeps to
    lon: np.ndarray
    lat: np.ndarray
    track: SimTrack
    offline: tuple[float, float] | None  # [from, to) seconds: fixes buffered, not sent
    gcj02: bool  # the backlog is uploaded in GCJ-02 (an app on a Chinese map SDK)
    sends: list[tuple[float, str, np.ndarray]] = field(default_factory=list)
    resent: int = 0  # fixes of the backlog batch sent twice (its answer "was lost")


@dataclass
class SimReport:
    devices: int = 0
    fixes: int = 0
    osmand_requests: int = 0
    batch_requests: int = 0
    batch_stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed_requests: int = 0
    retries: int = 0
    flagged: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "flagged": dict(self.flagged), "errors": self.errors[:10]}


def window(opts: SimOptions, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The simulated window in UTC (never ending after ``now``)."""
    now = now or datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()
    day = opts.day or today
    span = timedelta(hours=opts.hours)
    if opts.start is None and day == today:
        end = now - timedelta(seconds=now.timestamp() % opts.interval_s)
        return end - span, end
    start = datetime.combine(day, opts.start or dtime(8, 30), tzinfo=SHANGHAI).astimezone(UTC)
    if start + span > now:
        start = now - span
    return start, start + span


def _region(
    officer: FieldOfficer, units: gpd.GeoDataFrame, rng: np.random.Generator
) -> tuple[Polygon | MultiPolygon, list[str]] | None:
    """A few neighbouring unit grids of the officer's own grids (a patroller's zone is big)."""
    mine = units[units["code"].str.startswith(officer.codes)]
    if mine.empty:
        return None
    seed = mine.iloc[int(rng.integers(len(mine)))]
    if officer.role == StaffRole.PATROLLER and len(mine) > 1:
        near = mine[mine.geometry.distance(seed.geometry) < 1.0]
        near = near[near["code"] != seed["code"]].head(3)
        picked = [seed["code"], *near["code"]]
        geom = unary_union([seed.geometry, *near.geometry])
    else:
        picked = [seed["code"]]
        geom = seed.geometry
    return geom, picked


def plan_patrols(
    *,
    session: Session,
    opts: SimOptions,
    key: str,
    metric_srid: int,
    now: datetime | None = None,
    officers: list[FieldOfficer] | None = None,
) -> list[DevicePlan]:
    """Tours, offline spells and the request schedule of ``opts.devices`` demo officers."""
    rng = np.random.default_rng(opts.seed)
    officers = officers if officers is not None else demo_officers(session=session)
    if opts.devices and len(officers) > opts.devices:
        # a mix: patrollers and grid workers in proportion, reproducibly
        idx = np.sort(rng.choice(len(officers), size=opts.devices, replace=False))
        officers = [officers[int(i)] for i in idx]
    generation = active_generation(session=session)
    units = read_grid_frame(session=session, generation_id=generation.id, level=3)
    units = units.to_crs(metric_srid)
    start, end = window(opts, now)
    duration = (end - start).total_seconds()
    plans = []
    for officer in officers:
        found = _region(officer, units, rng)
        if found is None:
            continue
        region, codes = found
        mode = EBIKE if officer.role == StaffRole.PATROLLER or rng.random() < 0.25 else WALK
        # a full day has a lunch break (a GPS silence); a short window is one tour
        spans = [(start.timestamp(), duration)]
        if duration >= 6 * 3600:
            half = (duration - opts.lunch.total_seconds()) / 2
            spans = [(start.timestamp(), half), (end.timestamp() - half, half)]
        parts = [
            patrol_tour(region, rng=rng, start_s=a, duration_s=d, interval_s=opts.interval_s,
                        mode=mode)
            for a, d in spans
        ]  # fmt: skip
        track = SimTrack(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in
              ("t_s", "x_m", "y_m", "accuracy_m", "speed_mps", "course_deg", "bad")),
            stops=[s for p in parts for s in p.stops],
        )  # fmt: skip
        lon, lat = from_metric(track.x_m, track.y_m, metric_srid)
        offline = None
        if rng.random() < opts.offline_share and duration >= 600:
            length = duration * rng.uniform(0.15, 0.4)
            a = start.timestamp() + rng.uniform(0.1, 0.5) * duration
            offline = (a, min(a + length, end.timestamp() - 60))
        plan = DevicePlan(
            officer, demo_device_secret(key, officer.external_id), mode, codes,
            lon, lat, track, offline, gcj02=bool(rng.random() < 0.5),
        )  # fmt: skip
        _schedule(plan, opts, rng)
        plans.append(plan)
    return plans


def _schedule(plan: DevicePlan, opts: SimOptions, rng: np.random.Generator) -> None:
    """Online fixes one request each at their time; the backlog after the phone is back."""
    t = plan.track.t_s
    sends: list[tuple[float, str, np.ndarray]] = []
    if plan.offline is None:
        online = np.arange(len(t))
        backlog = np.empty(0, dtype=np.int64)
    else:
        a, b = plan.offline
        off = (t >= a) & (t < b)
        online = np.flatnonzero(~off)
        backlog = np.flatnonzero(off)
    sends.extend((float(t[i]), "osmand", np.array([i])) for i in online)
    if len(backlog):
        # back online at b; the backlog goes up a little later, batch by batch, oldest first,
        # while live fixes keep arriving: late fixes land behind newer ones
        at = plan.offline[1] + rng.uniform(20.0, 90.0)  # type: ignore[index]
        chunks = [backlog[k : k + opts.batch_size] for k in range(0, len(backlog), opts.batch_size)]
        for n, chunk in enumerate(chunks):
            sends.append((at + n * 2.0, "batch", chunk))
        # the answer to one batch was lost: the phone sends it again
        again = chunks[int(rng.integers(len(chunks)))]
        sends.append((at + len(chunks) * 2.0, "batch", again))
        plan.resent = len(again)
    sends.sort(key=lambda s: s[0])
    plan.sends = sends


def _osmand_params(plan: DevicePlan, i: int) -> dict[str, str]:
    tr = plan.track
    params = {
        "id": plan.officer.external_id,
        "timestamp": str(int(tr.t_s[i])),
        "lat": f"{plan.lat[i]:.7f}",
        "lon": f"{plan.lon[i]:.7f}",
        "speed": f"{tr.speed_mps[i] / KNOT_MPS:.2f}",
        "bearing": f"{tr.course_deg[i]:.1f}",
        "accuracy": f"{tr.accuracy_m[i]:.1f}",
        "altitude": "5.0",
        "batt": f"{max(5.0, 95.0 - (tr.t_s[i] - tr.t_s[0]) / 600.0):.0f}",
        "key": plan.secret,
    }
    return params


def _batch_body(plan: DevicePlan, idx: np.ndarray) -> dict[str, Any]:
    tr = plan.track
    lon, lat = plan.lon[idx], plan.lat[idx]
    datum = "wgs84"
    if plan.gcj02:
        lon, lat = wgs84_to_gcj02(lon, lat)
        datum = "gcj02"
    fixes = [
        {
            "time": datetime.fromtimestamp(float(tr.t_s[i]), tz=UTC).isoformat(),
            "lon": round(float(x), 7),
            "lat": round(float(y), 7),
            "seq": int(i),
            "accuracy_m": float(tr.accuracy_m[i]),
            "speed_mps": float(tr.speed_mps[i]),
            "course_deg": float(tr.course_deg[i]),
        }
        for i, x, y in zip(idx.tolist(), lon, lat, strict=True)
    ]
    return {"device": plan.officer.external_id, "datum": datum, "fixes": fixes}


def _send(
    client: httpx.Client, plan: DevicePlan, kind: str, idx: np.ndarray, report: SimReport,
    lock: threading.Lock, attempts: int = 8,
) -> None:  # fmt: skip
    for attempt in range(attempts):
        try:
            if kind == "osmand":
                r = client.get("/api/v1/ingest/osmand", params=_osmand_params(plan, int(idx[0])))
            else:
                r = client.post(
                    "/api/v1/ingest/batch",
                    json=_batch_body(plan, idx),
                    headers={"Authorization": f"Bearer {plan.secret}"},
                )
        except httpx.TransportError as exc:
            with lock:
                report.retries += 1
            if attempt == attempts - 1:
                with lock:
                    report.failed_requests += 1
                    report.errors.append(f"{plan.officer.external_id}: {exc!r}")
                return
            time.sleep(min(0.25 * 2**attempt, 4.0))
            continue
        with lock:
            if r.status_code >= 500 and attempt < attempts - 1:
                report.retries += 1
            elif r.status_code != 200:
                report.failed_requests += 1
                report.errors.append(f"{plan.officer.external_id}: {r.status_code} {r.text[:200]}")
                return
            elif kind == "osmand":
                report.osmand_requests += 1
                return
            else:
                body = r.json()
                report.batch_requests += 1
                report.batch_stored += body["stored"]
                report.duplicates += body["duplicates"]
                report.rejected += body["rejected"]
                report.flagged.update(body["flagged"])
                return
        time.sleep(min(0.25 * 2**attempt, 4.0))


def run_plans(
    plans: list[DevicePlan],
    *,
    base_url: str,
    speedup: float = 0.0,
    workers: int = 8,
    progress: Callable[[int], None] | None = None,
) -> SimReport:
    """Send every plan's requests; each device's in order, devices spread over ``workers``."""
    report = SimReport(devices=len(plans), fixes=sum(len(p.track) for p in plans))
    lock = threading.Lock()
    if not plans:
        return report
    sim0 = min(s[0] for p in plans for s in p.sends) if any(p.sends for p in plans) else 0.0
    wall0 = time.monotonic()
    groups: list[list[tuple[float, DevicePlan, str, np.ndarray]]] = [[] for _ in range(workers)]
    for k, plan in enumerate(plans):
        groups[k % workers].extend((at, plan, kind, idx) for at, kind, idx in plan.sends)

    def work(items: list[tuple[float, DevicePlan, str, np.ndarray]]) -> None:
        items.sort(key=lambda s: s[0])  # stable: a device's own order is kept
        with httpx.Client(base_url=base_url, timeout=30) as client:
            for at, plan, kind, idx in items:
                if speedup > 0:
                    delay = wall0 + (at - sim0) / speedup - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                _send(client, plan, kind, idx, report, lock)
                if progress is not None:
                    progress(len(idx))

    threads = [threading.Thread(target=work, args=(g,), daemon=True) for g in groups if g]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    report.elapsed_s = time.monotonic() - wall0
    return report


def wait_for_server(base_url: str, timeout_s: float = 120.0) -> bool:
    """True once ``/health`` answers 200 (polled every 0.2 s)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def fixes_total(plans: list[DevicePlan]) -> int:
    return sum(len(p.track) for p in plans)


def sends_total(plans: list[DevicePlan]) -> int:
    return sum(len(idx) for p in plans for _, _, idx in p.sends)


__all__ = [
    "DevicePlan",
    "SimOptions",
    "SimReport",
    "plan_patrols",
    "run_plans",
    "wait_for_server",
    "window",
]
