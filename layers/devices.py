"""Devices (phones) of staff: registration, secrets, lookup by the id clients send.

A device authenticates with its own secret (only the SHA-256 is stored). A device registered
without a secret accepts its external id alone, as the Traccar server does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from layers.errors import AuthError, DomainError
from layers.people import Device, GridAssignment, Person

SECRET_PREFIX = "ggd_"


class DeviceNotFound(DomainError):
    """No device with that id or external id."""


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(24)


def create_device(
    *,
    session: Session,
    external_id: str,
    person_id: int | None = None,
    label: str | None = None,
    secret: str | None = None,
    with_secret: bool = True,
) -> tuple[Device, str | None]:
    """Register a device; returns it and its plain secret (shown only now), if it has one."""
    if session.scalar(select(Device.id).where(Device.external_id == external_id)) is not None:
        from layers.errors import CodeConflict

        raise CodeConflict(
            f"a device with external id {external_id!r} exists; pick another id or rotate "
            "that device's secret",
            field="external_id",
        )
    value = secret or (new_secret() if with_secret else None)
    device = Device(
        external_id=external_id,
        person_id=person_id,
        label=label,
        secret_hash=hash_secret(value) if value else None,
    )
    session.add(device)
    session.flush()
    return device, value


def rotate_secret(*, session: Session, device_id: int) -> str:
    device = get_device(session=session, device_id=device_id)
    value = new_secret()
    device.secret_hash = hash_secret(value)
    return value


def get_device(*, session: Session, device_id: int) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise DeviceNotFound(
            f"no device with id {device_id}; list devices at /api/v1/devices", field="device"
        )
    return device


def device_by_external_id(*, session: Session, external_id: str, field: str = "id") -> Device:
    """The active device clients call ``external_id``; DeviceNotFound (400 for clients)."""
    device = session.scalar(
        select(Device).where(Device.external_id == external_id, Device.active.is_(True))
    )
    if device is None:
        raise device_not_found(external_id, field)
    return device


def device_not_found(external_id: str, field: str = "id") -> DeviceNotFound:
    """The error for a client naming a device we do not know (400, as Traccar answers)."""
    return DeviceNotFound(
        f"unknown device {external_id!r}; register it first (POST /api/v1/devices) and "
        "send its external id",
        field=field,
    )


def check_secret(device: Device, presented: str | None) -> None:
    """AuthError unless ``presented`` is the device's secret (or the device has none)."""
    check_secret_hash(device.external_id, device.secret_hash, presented)


def check_secret_hash(external_id: str, secret_hash: str | None, presented: str | None) -> None:
    """:func:`check_secret` on the stored hash (for callers that read it without the ORM)."""
    if secret_hash is None:
        return
    if not presented:
        raise AuthError(
            f"device {external_id!r} needs its secret: send 'Authorization: Bearer "
            "<device secret>' or add '&key=<device secret>' to the URL",
            field="key",
        )
    if not hmac.compare_digest(hash_secret(presented), secret_hash):
        raise AuthError(
            f"wrong secret for device {external_id!r}; use the secret shown when the "
            "device was registered, or rotate it (POST /api/v1/devices/{id}/secret)",
            field="key",
        )


def preauthenticate(
    *, session: Session, external_id: str | None, presented: str | None, field: str = "device"
) -> None:
    """The credentials of an upload checked before its body is read.

    A device named outside the body (query) must exist and accept ``presented``; a secret
    presented without a device name must be some active device's. With neither, nothing can
    be checked yet (a device without a secret, named in the body): the full check follows.
    Raises DeviceNotFound (400 for clients) or AuthError (401).
    """
    if external_id:
        device = device_by_external_id(session=session, external_id=external_id, field=field)
        check_secret(device, presented)
        return
    if presented:
        found = session.scalar(
            select(Device.id).where(
                Device.secret_hash == hash_secret(presented), Device.active.is_(True)
            )
        )
        if found is None:
            raise AuthError(
                "this secret belongs to no active device; use the secret shown when the "
                "device was registered, or rotate it (POST /api/v1/devices/{id}/secret)",
                field="key",
            )


def list_devices(*, session: Session) -> list[tuple[Device, Person | None]]:
    rows = session.execute(
        select(Device, Person).outerjoin(Person, Person.id == Device.person_id).order_by(Device.id)
    ).all()
    return [(d, p) for d, p in rows]


def assigned_grid_codes_all(*, session: Session) -> dict[int, list[str]]:
    """Codes (any level) of the grids each person is currently assigned to (no end date), by
    person id, in one query."""
    out: dict[int, list[str]] = {}
    rows = session.execute(
        select(GridAssignment.person_id, GridAssignment.grid_code)
        .where(GridAssignment.valid_to.is_(None))
        .order_by(GridAssignment.person_id, GridAssignment.grid_code)
    )
    for person_id, code in rows:
        out.setdefault(person_id, []).append(code)
    return out
