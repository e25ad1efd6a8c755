"""KPIs by reporter name every row (issue 11, kind of fault 5).

Proves: ``kpis?by=reporter`` names the cases reported by a user or token without a staff
member "未关联人员" (``lang=en``: "no staff member") in JSON, CSV and XLSX, never "None".
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
from openpyxl import load_workbook


def test_reporter_without_staff_member_is_named(live_server, tokens, demo_grids) -> None:
    l3 = demo_grids[demo_grids.level == 3].iloc[7]
    point = l3.geometry.representative_point()
    headers = {"Authorization": f"Bearer {tokens['admin']}"}  # a system user: no person
    with httpx.Client(base_url=live_server, headers=headers, timeout=120) as admin:
        r = admin.post(
            "/api/v1/events",
            json={"lon": point.x, "lat": point.y, "subclass": "0201",
                  "description": "kpi reporter test", "ignore_duplicates": True},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        today = datetime.now(UTC).date()
        period = {"by": "reporter", "from": str(today - timedelta(days=1)),
                  "to": str(today + timedelta(days=2))}  # fmt: skip
        rows = admin.get("/api/v1/kpis", params=period).json()["data"]
        names = [row["name"] for row in rows]
        assert "None" not in names
        assert any(row["key"] is None and row["name"] == "未关联人员" for row in rows), rows
        en = admin.get("/api/v1/kpis", params={**period, "format": "csv", "lang": "en"})
        assert en.status_code == 200, en.text
        text = en.content.decode("utf-8-sig")
        assert "no staff member" in text and "None" not in [
            cell for line in csv.reader(io.StringIO(text)) for cell in line
        ]
        xlsx = admin.get("/api/v1/kpis", params={**period, "format": "xlsx"})
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        cells = [c.value for row in sheet.iter_rows() for c in row]
        assert "未关联人员" in cells and "None" not in cells
