"""The 好差评 console: the applicant's rating form (five radio buttons, then the rating given), the
rectification list and page with the department's answer and the supervisor's follow-up, and the supervision
board's ratings panel rendered from board_context."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.approvals.conftest import URL, W
from tests.approvals.test_ratings import CITIZEN, case_on, principal_of
from zhicheng.approvals import ratings
from zhicheng.approvals import ratings_queries as rq
from zhicheng.approvals.rating_models import Rectification
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work
from zhicheng.web.templating import templates


def test_the_applicant_rates_on_the_console(db, world: W, as_user) -> None:  # noqa: ANN001
    zhangsan = as_user("zhangsan")
    case_id = case_on(db, zhangsan, world, shanghai_today())
    running = case_on(db, zhangsan, world, shanghai_today(), final=False)
    form = zhangsan.get(f"/approvals/cases/{case_id}/rating")
    assert form.status_code == 200 and 'data-testid="form-rating"' in form.text
    for label in ratings.LEVELS.values():
        assert label in form.text
    assert form.text.count('type="radio" name="level"') == 5
    wait = zhangsan.get(f"/approvals/cases/{running}/rating")
    assert "办件办结后可以评价" in wait.text and 'data-testid="form-rating"' not in wait.text
    assert zhangsan.form(f"/approvals/cases/{case_id}/rating", {"comment": "x"}).status_code == 422
    r = zhangsan.form(
        f"/approvals/cases/{case_id}/rating",
        {"level": "2", "comment": "等候时间太长", "next": f"/approvals/cases/{case_id}/rating"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/approvals/cases/{case_id}/rating"
    shown = zhangsan.get(f"/approvals/cases/{case_id}/rating")
    assert (
        'data-testid="rating-given"' in shown.text and "不满意" in shown.text and "等候时间太长" in shown.text
    )
    assert 'data-testid="form-rating"' not in shown.text
    again = zhangsan.form(f"/approvals/cases/{case_id}/rating", {"level": "5"})
    assert again.status_code == 409 and 'data-testid="error"' in again.text
    assert zhangsan.form(f"/approvals/cases/{running}/rating", {"level": "5"}).status_code == 409
    # an off-site `next` is ignored
    other = case_on(db, zhangsan, world, shanghai_today())
    r = zhangsan.form(f"/approvals/cases/{other}/rating", {"level": "5", "next": "//evil.example/"})
    assert r.headers["location"] == f"/approvals/cases/{other}/rating"
    assert as_user("outsider").get(f"/approvals/cases/{case_id}/rating").status_code == 403
    assert as_user("company").get(f"/approvals/cases/{case_id}/rating").status_code == 403
    assert as_user("company").form(f"/approvals/cases/{other}/rating", {"level": "1"}).status_code == 403


def test_rectification_pages(db, world: W, as_user) -> None:  # noqa: ANN001
    zhangsan = as_user("zhangsan")
    case_id = case_on(db, zhangsan, world, shanghai_today())
    assert zhangsan.send("POST", f"{URL}/cases/{case_id}/rating", json={"level": 1}).status_code == 201
    with db.read() as s:
        rid = s.scalar(select(Rectification.id).where(Rectification.case_id == case_id))
    housing, supervisor = as_user("rv_housing"), as_user("supervisor")
    listing = housing.get("/approvals/rectifications")
    assert listing.status_code == 200 and f'data-id="{rid}"' in listing.text and "待整改" in listing.text
    assert "整改任务" in housing.get("/").text  # the nav entry
    assert as_user("outsider").get("/approvals/rectifications").status_code == 403
    assert as_user("rv_planning").get(f"/approvals/rectifications/{rid}").status_code == 403
    page = housing.get(f"/approvals/rectifications/{rid}")
    assert 'data-testid="form-answer"' in page.text and 'data-testid="form-follow-up"' not in page.text
    short = housing.form(f"/approvals/rectifications/{rid}/answer", {"answer": "已整改"})
    assert short.status_code == 422 and 'data-testid="error"' in short.text and "已整改" in short.text
    r = housing.form(
        f"/approvals/rectifications/{rid}/answer", {"answer": "已对窗口人员进行培训，缩短等候时间"}
    )
    assert r.status_code == 303
    page = supervisor.get(f"/approvals/rectifications/{rid}")
    assert 'data-testid="form-follow-up"' in page.text and "已对窗口人员进行培训" in page.text
    assert f'data-id="{rid}"' in supervisor.get("/approvals/rectifications?view=followup").text
    assert (
        housing.form(f"/approvals/rectifications/{rid}/follow-up", {"result": "satisfied"}).status_code == 403
    )
    r = supervisor.form(
        f"/approvals/rectifications/{rid}/follow-up", {"result": "unsatisfied", "note": "申请人仍不满意"}
    )
    assert r.status_code == 303
    page = housing.get(f"/approvals/rectifications/{rid}")
    assert 'data-status="reopened"' in page.text and 'data-testid="history"' in page.text
    assert 'data-testid="form-answer"' in page.text


def test_the_board_panel_renders_from_board_context(db, world: W, as_user) -> None:  # noqa: ANN001
    zhangsan = as_user("zhangsan")
    day = dt.date(2026, 10, 12)
    for level in (5, 1):
        case_id = case_on(db, zhangsan, world, day)
        with unit_of_work(db, CITIZEN) as uow:
            ratings.rate(uow, principal_of(uow.session, "zhangsan"), case_id, level, "", "online", 15, day)
    panel = templates().env.get_template("approvals/_rating_stats.html")
    with db.read() as s:
        sup = principal_of(s, "supervisor")
        html = panel.render(me=sup, _=lambda t: t, **rq.board_context(s, sup, dt.date(2026, 10, 20)))
        nobody = principal_of(s, "rv_housing")
        empty = panel.render(me=nobody, _=lambda t: t, **rq.board_context(s, nobody, dt.date(2026, 10, 20)))
    assert 'data-testid="rating-by-department"' in html and "50.0%" in html
    assert f'data-org="{world.housing}"' in html and 'data-testid="rating-bad"' in html
    assert "rating-stats" not in empty
