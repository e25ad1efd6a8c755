"""Reliability of batch ingest: SIGKILL the server while 50 devices stream, restart, retry.

Proves: an acknowledged batch is on disk at the moment of the kill (the server commits before
it answers); after the restart, clients that resend every batch without an answer end with
every fix stored exactly once and none lost; the retried batches the dead server had already
committed come back as duplicates (the API counts them), and nothing else does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from api.settings import PROJECT_DIR
from tests.conftest import _free_port
from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

DEVICES = 50
BATCHES = 12
PER_BATCH = 100


class Server:
    """The app in its own uvicorn process on a fixed port, killable and restartable."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": database_url,
                    "GRIDGIS_DATA_DIR": str(data_dir), "GRIDGIS_SESSION_SECRET": "t"}  # fmt: skip
        self.log = (data_dir / "server.log").open("a")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, cwd=PROJECT_DIR,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None, "the server died while starting"
            time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


class Phone:
    """A device streaming batches; a batch is resent until the server acknowledges it."""

    def __init__(self, device: StaffDevice, start: datetime, base: str) -> None:
        self.device = device
        self.base = base
        self.batches = [
            [
                {
                    "time": (start + timedelta(seconds=5 * (b * PER_BATCH + i))).isoformat(),
                    "lon": CITY_LON + 1e-6 * i,
                    "lat": CITY_LAT + 1e-6 * b,
                    "accuracy_m": 5.0,
                    "seq": b * PER_BATCH + i,
                }
                for i in range(PER_BATCH)
            ]
            for b in range(BATCHES)
        ]
        self.acked: list[dict[str, int]] = []  # per batch: the acknowledged answer
        self.attempts = [0] * BATCHES
        self.lock = threading.Lock()

    def run(self, deadline: float) -> None:
        headers = {"Authorization": f"Bearer {self.device.secret}"}
        with httpx.Client(base_url=self.base, timeout=10) as client:
            for b, fixes in enumerate(self.batches):
                while time.monotonic() < deadline:
                    self.attempts[b] += 1
                    try:
                        r = client.post(
                            "/api/v1/ingest/batch",
                            json={"device": self.device.external_id, "fixes": fixes},
                            headers=headers,
                        )
                    except httpx.TransportError:
                        time.sleep(0.2)  # no answer: the batch may or may not be stored
                        continue
                    assert r.status_code == 200, r.text  # never a 500, even mid-restart
                    body = r.json()
                    with self.lock:
                        self.acked.append({"stored": body["stored"], "dup": body["duplicates"],
                                           "rejected": body["rejected"], "batch": b})  # fmt: skip
                    break
                time.sleep(0.01)  # a phone does not upload flat out


@pytest.fixture
def phones(engine: Engine, demo_generation: int) -> list[StaffDevice]:
    return [make_device(engine) for _ in range(DEVICES)]


def _stored_seqs(engine: Engine, device_id: int) -> list[int]:
    with engine.connect() as conn:
        return [
            int(s)
            for s in conn.execute(
                text("SELECT seq FROM position WHERE device_id = :d ORDER BY seq"),
                {"d": device_id},
            ).scalars()
        ]


def test_sigkill_mid_stream_loses_nothing_and_stores_nothing_twice(
    database_url, engine, phones, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    server = Server(database_url, tmp_path)
    server.start()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    clients = [Phone(d, start, server.base) for d in phones]
    deadline = time.monotonic() + 240
    threads = [threading.Thread(target=c.run, args=(deadline,)) for c in clients]
    try:
        for th in threads:
            th.start()
        # kill once about a quarter of the batches are acknowledged: mid-stream
        total = DEVICES * BATCHES
        while sum(len(c.acked) for c in clients) < total // 4:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        server.kill()
        acked_at_kill = {c.device.id: [a["batch"] for a in list(c.acked)] for c in clients}
        # durability: every batch acknowledged before the kill is on disk, whole
        for c in clients:
            seqs = set(_stored_seqs(engine, c.device.id))
            for b in acked_at_kill[c.device.id]:
                assert {f["seq"] for f in c.batches[b]} <= seqs
        time.sleep(1.0)  # clients keep failing and retrying against the dead port
        server.start()
        for th in threads:
            th.join(timeout=max(1.0, deadline - time.monotonic()))
        assert not any(th.is_alive() for th in threads), "clients did not finish"
    finally:
        server.stop()

    retried = sum(1 for c in clients for n in c.attempts if n > 1)
    assert retried > 0, "the kill did not interrupt any request"
    duplicates = 0
    for c in clients:
        # every batch acknowledged exactly once by the clients' loop
        assert sorted(a["batch"] for a in c.acked) == list(range(BATCHES))
        sent = sorted(f["seq"] for batch in c.batches for f in batch)
        assert _stored_seqs(engine, c.device.id) == sent  # none lost, none twice
        for a in c.acked:
            assert a["rejected"] == 0 and a["stored"] + a["dup"] == PER_BATCH
            if c.attempts[a["batch"]] == 1:
                assert a["dup"] == 0  # only a resend can meet its own fixes
            duplicates += a["dup"]
        # what the API said it stored plus what it called duplicates is what is there
        assert sum(a["stored"] for a in c.acked) + sum(a["dup"] for a in c.acked) == len(sent)
    with engine.connect() as conn:
        total_rows = conn.execute(
            text("SELECT count(*) FROM position WHERE device_id = ANY(:ids)"),
            {"ids": [d.id for d in phones]},
        ).scalar_one()
    assert total_rows == DEVICES * BATCHES * PER_BATCH
    # duplicates are exactly the batches the dead server committed without answering
    assert duplicates % PER_BATCH == 0
