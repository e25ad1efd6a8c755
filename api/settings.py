"""Configuration: one pydantic-settings class per concern, prefix ``GRIDGIS_``.

Built once in ``create_app`` (or by the CLI) and passed down; ``gis/`` never reads settings.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gis.crs import SRID_METRIC_DEFAULT

PROJECT_DIR = Path(__file__).resolve().parent.parent


class DatabaseSettings(BaseSettings):
    """Where the data lives. No URL: the embedded cluster in ``data_dir`` is used."""

    model_config = SettingsConfigDict(env_prefix="GRIDGIS_", extra="ignore", populate_by_name=True)

    url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "GRIDGIS_DATABASE_URL")
    )
    data_dir: Path = PROJECT_DIR / ".gridgis"
    pool_size: int = 10


class GeoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDGIS_", extra="ignore")

    metric_srid: int = SRID_METRIC_DEFAULT
    """Projected CRS for metres; EPSG:4549 (CGCS2000 3-degree GK CM 120E) suits Jiangyin."""
    demo_seed: int = 320281


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDGIS_", extra="ignore")

    admin_token: str | None = None
    session_secret: str | None = None
    session_max_age_s: int = 12 * 3600
    """A page session lasts at most one shift, then the user logs in again."""
    session_idle_s: int = 2 * 3600
    """A page session unused this long ends (seen at most once a minute)."""
    phone_session_s: int = 12 * 3600
    """A phone session (a sign-in to the officer app: ``next`` is ``/m/…``) lasts one shift and
    ends only after being unused that long (a phone in a pocket between cases stays signed in;
    ``session_idle_s`` does not apply to it); the centre still ends it at once (disable the
    user, end their sessions, revoke the token)."""

    def secret(self, data_dir: Path) -> str:
        """The cookie-signing secret: configured, or generated once and kept in the data dir."""
        if self.session_secret:
            return self.session_secret
        path = data_dir / "session.key"
        if path.exists():
            return path.read_text().strip()
        data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        path.write_text(value)
        path.chmod(0o600)
        return value


class MapSettings(BaseSettings):
    """Basemap: none by default (intranets); Tianditu with a key; any XYZ tile server; Amap
    (GCJ-02) or Baidu (BD-09) tiles, overlays shifted to their datum (maps/basemaps.py)."""

    model_config = SettingsConfigDict(env_prefix="GRIDGIS_MAP_", extra="ignore")

    basemap: Literal["none", "tianditu", "xyz", "amap", "baidu"] = "none"
    tianditu_key: str | None = None
    xyz_url: str | None = None
    xyz_attribution: str = ""
    amap_url: str | None = None
    """Amap tiles ({z}/{x}/{y}, {s}); None: Amap's public server (maps.basemaps.AMAP_URL)"""
    baidu_url: str | None = None
    """Baidu tiles in Baidu's numbering; None: Baidu's public server (maps.basemaps.BAIDU_URL)"""
    amap_attribution: str = ""
    baidu_attribution: str = ""
    l3_simplify_m: float = 2.0


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDGIS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    positions_keep_days: int = 90
    """fixes kept in the database; older months go to GeoParquet (gridgis positions archive)"""
    late_recompute_s: float = 300.0
    """how often a server recomputes past days' coverage after late fixes (0: never)"""
    workers: int | None = None
    """server processes; None: the number of cores"""
    worker_healthcheck_s: int = 120
    """with several workers: how long a worker may not answer the supervisor's ping before it
    is killed and replaced (uvicorn's default, 5 s, kills busy workers on a loaded machine —
    a worker building a locator or parsing a file holds the GIL for seconds)"""
    access_log: bool = True
    """one log line per request (uvicorn's access log; ~6 % of a small request's CPU)"""
    forwarded_allow_ips: str = ""
    """reverse proxies (comma-separated addresses or networks, ``*`` any) whose
    ``X-Forwarded-For``/``-Proto`` are believed; empty (default): none, the peer address is the
    client's (uvicorn on its own trusts loopback, which let any local process name any address
    to the sign-in throttle). ``GRIDGIS_FORWARDED_ALLOW_IPS=127.0.0.1`` behind a local nginx"""

    def proxy_options(self) -> dict[str, Any]:
        """uvicorn's ``proxy_headers``/``forwarded_allow_ips`` for :attr:`forwarded_allow_ips`."""
        allowed = self.forwarded_allow_ips.strip()
        return {"proxy_headers": bool(allowed), "forwarded_allow_ips": allowed or None}

    locate_batch_max: int = 100_000


class Settings:
    """All concerns together, as ``create_app`` receives them."""

    def __init__(
        self,
        database: DatabaseSettings | None = None,
        geo: GeoSettings | None = None,
        auth: AuthSettings | None = None,
        map: MapSettings | None = None,
        server: ServerSettings | None = None,
    ) -> None:
        self.database = database or DatabaseSettings()
        self.geo = geo or GeoSettings()
        self.auth = auth or AuthSettings()
        self.map = map or MapSettings()
        self.server = server or ServerSettings()
