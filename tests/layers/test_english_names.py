"""The dictionary's one naming rule (layers.events.dictionary.display_name): an English page
never shows a Chinese name nor a bare code; a subclass without an English name takes its
class's, then a clear English label. Rows are made inside the test's rolled-back transaction."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from layers.events.dictionary import (
    UNNAMED_EN,
    display_name,
    list_dictionary,
    subclass_dict,
    subclass_name,
    subclass_name_en,
)
from layers.events.models import EventClass, EventSubclass, LimitUnit

CJK = re.compile(r"[\u4e00-\u9fff]")


def _subclass(code: str, name: str, name_en: str | None) -> EventSubclass:
    return EventSubclass(
        code=code, class_code=code[:2], name=name, name_en=name_en, accept_rule="-",
        limit_value=1, limit_unit=LimitUnit.WORK_HOURS, close_rule="-", department="-",
    )  # fmt: skip


def test_display_name_falls_back_in_english_never_to_chinese() -> None:
    assert display_name("暴露垃圾", "Exposed rubbish", "en") == "Exposed rubbish"
    assert display_name("暴露垃圾", "Exposed rubbish", "zh") == "暴露垃圾"
    assert display_name("无英文名", None, "en", "City environment") == "City environment"
    assert display_name("无英文名", "", "en", None) == UNNAMED_EN
    assert display_name("无英文名", None, "zh", "City environment") == "无英文名"
    assert not CJK.search(UNNAMED_EN) and not re.search(r"\d", UNNAMED_EN)


def _free_class_codes(session: Session, n: int) -> list[str]:
    """n two-digit class codes no row uses (other tests commit classes such as '97')."""
    used = set(session.scalars(select(EventClass.code)))
    free = [f"{i:02d}" for i in range(99, 9, -1) if f"{i:02d}" not in used]
    assert len(free) >= n, "no free two-digit event class code"
    return free[:n]


def test_dictionary_sql_and_objects_share_the_rule(db_session: Session) -> None:
    a, b = _free_class_codes(db_session, 2)  # named class, class without an English name
    db_session.add_all([
        EventClass(code=a, name="测试大类", name_en="Test class", kind="event"),
        EventClass(code=b, name="无英文大类", name_en=None, kind="event"),
    ])  # fmt: skip
    db_session.flush()
    db_session.add_all([
        _subclass(f"{a}01", "有英文名", "Named one"),
        _subclass(f"{a}02", "无英文名甲", None),
        _subclass(f"{b}01", "无英文名乙", None),
    ])  # fmt: skip
    db_session.flush()
    want = {f"{a}01": "Named one", f"{a}02": "Test class", f"{b}01": UNNAMED_EN}
    # SQL (the lists of /events/map, the dashboard, the phone's tasks)
    rows = db_session.execute(
        select(EventSubclass.code, EventSubclass.name, subclass_name_en()).where(
            EventSubclass.code.in_(list(want))
        )
    ).all()
    assert {c: display_name(n, en, "en") for c, n, en in rows} == want
    assert {c: display_name(n, en, "zh") for c, n, en in rows} == {
        f"{a}01": "有英文名", f"{a}02": "无英文名甲", f"{b}01": "无英文名乙"
    }  # fmt: skip
    # loaded objects (one subclass read on its own: API, phone's case view)
    for code, name in want.items():
        s = db_session.get(EventSubclass, code)
        assert s is not None
        assert subclass_name(s, "en") == name == subclass_dict(s, "en")["name"]
        assert subclass_dict(s, "zh")["name"] == s.name
    # the whole dictionary (the /events/map filter and legend names)
    en = {c["code"]: c for c in list_dictionary(session=db_session, lang="en")}
    assert en[b]["name"] == UNNAMED_EN and en[a]["name"] == "Test class"
    assert {s["code"]: s["name"] for c in (a, b) for s in en[c]["subclasses"]} == want
    for c in en.values():
        assert not CJK.search(c["name"]), c
        assert not any(CJK.search(s["name"]) for s in c["subclasses"]), c["code"]
