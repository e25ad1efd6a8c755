"""Demo devices for the field staff (grid workers and patrollers), and who patrols where.

Demo devices are called ``demo-<person id>``; their secrets are derived from a demo key
(HMAC-SHA256), so the patrol simulator can authenticate as any of them without the secrets
being stored anywhere. If the roster (people issue) has not been loaded, a placeholder staff of
one grid worker per unit grid is made, named ``临时网格员 <grid code>`` with no ID number, so a
later roster step can recognise and replace (or adopt) them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from layers.devices import SECRET_PREFIX, hash_secret
from layers.people import Device, GridAssignment, Person, StaffRole

DEMO_DEVICE_PREFIX = "demo-"
PLACEHOLDER_NAME = "临时网格员"
FIELD_ROLES = (StaffRole.GRID_WORKER, StaffRole.PATROLLER)


def demo_device_secret(key: str, external_id: str) -> str:
    """The secret of a demo device, derived from the demo key."""
    digest = hmac.new(key.encode(), external_id.encode(), hashlib.sha256).hexdigest()
    return SECRET_PREFIX + digest[:32]


def demo_external_id(person_id: int) -> str:
    return f"{DEMO_DEVICE_PREFIX}{person_id:05d}"


def ensure_placeholder_staff(*, session: Session, generation_id: int) -> int:
    """One grid worker per unit grid of the generation, only if there is no person at all.

    Returns how many were made (0 when any staff exists).
    """
    if session.scalar(select(func.count()).select_from(Person)):
        return 0
    codes = [
        str(c)
        for c in session.scalars(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 3 ORDER BY code"),
            {"g": generation_id},
        )
    ]
    if not codes:
        return 0
    ids = session.scalars(
        insert(Person).returning(Person.id, sort_by_parameter_order=True),
        [{"name": f"{PLACEHOLDER_NAME} {c}", "town_code": c[:9]} for c in codes],
    ).all()
    session.execute(
        insert(GridAssignment),
        [
            {
                "person_id": pid,
                "grid_code": code,
                "role": StaffRole.GRID_WORKER,
                "valid_from": date(2024, 1, 1),
            }
            for pid, code in zip(ids, codes, strict=True)
        ],
    )
    return len(codes)


@dataclass(frozen=True)
class FieldOfficer:
    """A field officer with a demo device: whom, which role, which grid codes (any level)."""

    person_id: int
    name: str
    role: StaffRole
    codes: tuple[str, ...]
    device_id: int
    external_id: str


def field_staff(*, session: Session) -> dict[int, tuple[str, StaffRole, tuple[str, ...]]]:
    """Active grid workers and patrollers: person id -> (name, role, assigned codes)."""
    rows = session.execute(
        select(Person.id, Person.name, GridAssignment.role, GridAssignment.grid_code)
        .join(GridAssignment, GridAssignment.person_id == Person.id)
        .where(GridAssignment.role.in_(FIELD_ROLES))
        .where(GridAssignment.valid_to.is_(None) | (GridAssignment.valid_to >= func.current_date()))
        .where(Person.active.is_(True))
        .order_by(Person.id, GridAssignment.grid_code)
    ).all()
    out: dict[int, tuple[str, StaffRole, tuple[str, ...]]] = {}
    for pid, name, role, code in rows:
        _, old_role, codes = out.get(pid, (name, role, ()))
        # a person with both roles patrols as a patroller (the wider area)
        best = StaffRole.PATROLLER if StaffRole.PATROLLER in (old_role, role) else role
        out[pid] = (name, best, (*codes, code))
    return out


def ensure_demo_devices(*, session: Session, key: str) -> tuple[int, int]:
    """A demo device (with its derived secret) for every field officer; idempotent.

    Existing demo devices get their secret re-derived (the key may have changed). Returns
    ``(created, total)``.
    """
    staff = field_staff(session=session)
    existing = {
        d.external_id: d
        for d in session.scalars(
            select(Device).where(Device.external_id.like(f"{DEMO_DEVICE_PREFIX}%"))
        )
    }
    new_rows = []
    for pid, (name, role, _) in staff.items():
        ext = demo_external_id(pid)
        secret_hash = hash_secret(demo_device_secret(key, ext))
        device = existing.get(ext)
        if device is None:
            new_rows.append(
                {
                    "external_id": ext,
                    "person_id": pid,
                    "label": f"{name} ({role.value})",
                    "secret_hash": secret_hash,
                }
            )
        elif device.secret_hash != secret_hash:
            device.secret_hash = secret_hash
    if new_rows:
        session.execute(insert(Device), new_rows)
    session.flush()
    return len(new_rows), len(staff)


def demo_officers(*, session: Session) -> list[FieldOfficer]:
    """Field officers that have a demo device, ordered by person id."""
    staff = field_staff(session=session)
    devices = session.execute(
        select(Device.id, Device.external_id, Device.person_id).where(
            Device.external_id.like(f"{DEMO_DEVICE_PREFIX}%"), Device.active.is_(True)
        )
    ).all()
    out = []
    for device_id, ext, pid in devices:
        if pid in staff:
            name, role, codes = staff[pid]
            out.append(FieldOfficer(pid, name, role, codes, device_id, ext))
    return sorted(out, key=lambda o: o.person_id)
