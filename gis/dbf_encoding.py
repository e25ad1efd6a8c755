"""The text encoding of a Shapefile's attribute table (``.dbf``), stated or guessed (issue 14).

GDAL reads a Shapefile without a ``.cpg`` and without a language driver id as ISO-8859-1, so a
GBK file saved by an old ArcGIS/MapInfo arrives with every name garbled. The order here:

1. an explicit ``encoding`` given by the user (``how = "stated"``);
2. the ``.cpg`` beside the ``.dbf`` (``how = "cpg"``);
3. the DBF's language driver id, byte 29 of its header, when not 0 (``how = "ldid"``);
4. else detected over the DBF's records (``how = "detected"``, a guess the import answer warns
   about): strict UTF-8 (plain ASCII included), else charset-normalizer among GB18030 and
   Windows-1252 (Latin-1 as offices save it).

Pure: no database, no HTTP. Sources: dBASE/ArcGIS code page table (LDID -> Windows code page);
GDAL's Shapefile driver documentation (SHAPE_ENCODING, .cpg).
"""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import dataclass
from pathlib import Path

LDID_CODEPAGE: dict[int, str] = {
    0x01: "cp437", 0x02: "cp850", 0x03: "cp1252", 0x57: "cp1252", 0x58: "cp1252",
    0x59: "cp1252", 0x64: "cp852", 0x65: "cp866", 0x4D: "gb18030", 0x7A: "gb18030",
    0x4E: "cp949", 0x79: "cp949", 0x4F: "big5", 0x78: "big5", 0x13: "cp932", 0x7B: "cp932",
    0xC8: "cp1250", 0xC9: "cp1251", 0xCA: "cp1254", 0xCB: "cp1253", 0x7D: "cp1255",
    0x7E: "cp1256", 0x7C: "cp874",
}  # fmt: skip
"""DBF language driver id -> Python codec (GBK read as its superset GB18030)."""
DETECT_SAMPLE_BYTES = 512 * 1024
SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "936": "gb18030"}


@dataclass(frozen=True)
class DbfEncoding:
    """The encoding to read a DBF in: ``encoding`` (a Python codec name) and ``how`` it was
    found: ``stated``, ``cpg``, ``ldid`` or ``detected`` (a guess)."""

    encoding: str
    how: str

    @property
    def guessed(self) -> bool:
        return self.how == "detected"


def codec_of(name: str) -> str | None:
    """The Python codec of a charset/code page name (``GBK``, ``936``, ``UTF-8``), or None."""
    text = name.strip().strip("\"'").lower()
    if text.isdigit():
        text = "gb18030" if text == "936" else f"cp{text}"
    text = SUPERSETS.get(text, text)
    try:
        return codecs.lookup(text).name
    except LookupError:
        return None


def _detect(records: bytes) -> str:
    try:
        records.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(records[:DETECT_SAMPLE_BYTES], cp_isolation=["gb18030", "cp1252"]).best()
    if best is not None:
        return codecs.lookup(best.encoding).name
    return "gb18030" if _decodes(records, "gb18030") else "cp1252"


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
        return True
    except UnicodeDecodeError:
        return False


def dbf_encoding(dbf: bytes, cpg: bytes | None) -> DbfEncoding | None:
    """The encoding of a DBF (its bytes) with its ``.cpg`` text (or None): see the module.
    None when the ``.cpg`` names an encoding (GDAL applies it itself)."""
    if cpg is not None and codec_of(cpg.decode("ascii", "replace")):
        return DbfEncoding(str(codec_of(cpg.decode("ascii", "replace"))), "cpg")
    if len(dbf) < 32:
        return None
    ldid = dbf[29]
    if ldid in LDID_CODEPAGE:
        return DbfEncoding(LDID_CODEPAGE[ldid], "ldid")
    header_len = int.from_bytes(dbf[8:10], "little")
    return DbfEncoding(_detect(dbf[header_len:]), "detected")


def shapefile_encoding(path: Path, layer: str, stated: str | None = None) -> DbfEncoding | None:
    """The encoding to read ``layer`` of a Shapefile (``.shp`` or a ``.zip`` holding it) in;
    None for other formats (GeoPackage and GeoJSON are UTF-8 by their specifications).

    Raises ValueError naming the fix when ``stated`` is not a known encoding.
    """
    suffix = path.suffix.lower()
    if suffix not in (".shp", ".zip"):
        return None
    if stated:
        codec = codec_of(stated)
        if codec is None:
            raise ValueError(
                f"encoding {stated!r} is unknown; use GBK (GB18030), UTF-8 or ISO-8859-1"
            )
        return DbfEncoding(codec, "stated")
    if suffix == ".shp":
        dbf_path, cpg_path = path.with_suffix(".dbf"), path.with_suffix(".cpg")
        if not dbf_path.exists():
            return None
        return dbf_encoding(
            dbf_path.read_bytes(), cpg_path.read_bytes() if cpg_path.exists() else None
        )
    with zipfile.ZipFile(path) as zf:
        names = {n.lower(): n for n in zf.namelist()}
        stem = next(
            (n[:-4] for n in names if n.endswith(".dbf") and Path(n).stem == layer.lower()),
            None,
        )
        if stem is None:
            return None
        cpg = names.get(f"{stem}.cpg")
        return dbf_encoding(
            zf.read(names[f"{stem}.dbf"]), zf.read(cpg) if cpg is not None else None
        )


__all__ = ["DbfEncoding", "codec_of", "dbf_encoding", "shapefile_encoding"]
