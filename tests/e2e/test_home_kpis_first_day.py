"""The front page's KPI panel on the first day of a month (issue 15, fault 3): /?date=2000-02-01
(a frozen day) shows January's figures, labelled as last month with the reason, and the panel
is never empty; zh and en, headless Chromium at 1920×1080. Screenshots
test-artifacts/home_kpis_first_day_*.png."""

from __future__ import annotations

import pytest

from tests.api.test_dashboard_kpis_first_day import january_case  # noqa: F401 (fixture)
from tests.e2e.conftest import wait_until
from tests.e2e.test_home_page import open_home

pytestmark = pytest.mark.browser

LABEL = {"zh": ("上月（01-01 至 01-31）", "本月", "尚无事件"),
         "en": ("Last month (01-01 to 01-31)", "no events yet this month")}  # fmt: skip


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_first_of_the_month_shows_last_month(
    browser,
    live_server,
    tokens,
    artifacts,
    january_case,  # noqa: F811
    lang,
) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_home(browser, live_server, tokens["viewer"], f"/?lang={lang}&date=2000-02-01")
    try:
        wait_until(page, "document.querySelector('#panel-kpis .kpi-period.previous')")
        label = page.inner_text("#panel-kpis .kpi-period")
        for words in LABEL[lang]:
            assert words in label, label
        # figures, not an empty panel: January's case is counted
        assert int(page.inner_text("#panel-kpis .kpi-patrol .kpi-v").replace(",", "")) >= 0
        assert page.locator("#panel-kpis .kpi").count() == 7
        assert page.locator("#panel-kpis table.ranking tr").count() >= 2
        page.screenshot(path=str(artifacts / f"home_kpis_first_day_{lang}.png"))
    finally:
        page.context.close()
