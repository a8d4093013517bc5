"""好差评: five levels on finished cases only, once per case, by its applicant (or the window's device); a bad
rating opens a rectification on a working-day clock (15 days, or the setting), answered by the department,
followed up by a supervisor (unsatisfied reopens it), escalated once when overdue; statistics by item,
department and window."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.approvals.conftest import ME, URL, W, full_materials, good_form, upload
from zhicheng.approvals import acceptance, cases, ratings
from zhicheng.approvals import ratings_queries as rq
from zhicheng.approvals.rating_models import Rating, Rectification
from zhicheng.approvals.schemas import CaseIn
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth.models import RoleGrant, User
from zhicheng.core.auth.principal import Principal
from zhicheng.core.auth.services import _scopes
from zhicheng.core.calendar import queries as calendar
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Actor, unit_of_work
from zhicheng.core.notify.models import Notification
from zhicheng.core.orgs.models import Party

CITIZEN = Actor(kind="user", name="zhangsan")
COMPANY = Actor(kind="user", name="company")
D = dt.date
REFUSAL = "申请材料与事项要求不符，不予受理"


def case_on(  # noqa: ANN201
    db,
    client,
    world: W,
    on: dt.date,
    who: Actor = CITIZEN,
    final: bool = True,
    joint: bool = False,  # noqa: ANN001
) -> int:
    """A case refused (final) on `on`: of the simple item (department and window: housing), or of the joint
    one (department and window: the bureau)."""
    if joint:
        body = CaseIn(item_code=world.joint_item, form=good_form(), materials=full_materials(client))
    else:
        mats = {"report": upload(client)}
        body = CaseIn(item_code=world.simple_item, form={"project": "鼓楼区某住宅项目"}, materials=mats)
    party_id = world.citizen if who is CITIZEN else world.enterprise
    with unit_of_work(db, who) as uow:
        party = uow.session.get(Party, party_id)
        case, _ = cases.submit(uow, body, party, None, on)
        case_id = case.id
    if final:
        with unit_of_work(db, ME) as uow:
            acceptance.refuse(uow, case_id, REFUSAL, today=on)
    return case_id


def principal_of(s, username: str) -> Principal:  # noqa: ANN001
    """The Principal of a test user, as a console session builds it."""
    user = s.scalar(select(User).where(User.username == username))
    grants = [
        (g.role_code, g.org_id) for g in s.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id))
    ]
    actor = Actor(kind="user", name=user.username, user_id=user.id, org_id=user.org_id)
    return Principal(actor=actor, scopes=_scopes(s, grants), roles=tuple(sorted({g[0] for g in grants})))


def test_five_levels_and_who_may_rate(db, world: W, as_user, app) -> None:  # noqa: ANN001
    zhangsan = as_user("zhangsan")
    ids = [case_on(db, zhangsan, world, shanghai_today()) for _ in range(5)]
    for case_id, level in zip(ids, (5, 4, 3, 2, 1), strict=True):
        r = zhangsan.send(
            "POST", f"{URL}/cases/{case_id}/rating", json={"level": level, "comment": "窗口热情"}
        )
        assert r.status_code == 201, r.text
        got = r.json()
        assert (got["level"], got["level_zh"], got["bad"]) == (level, ratings.LEVELS[level], level <= 2)
        assert (got["rectification"] is not None) == (level <= 2)
    shown = zhangsan.get(f"{URL}/cases/{ids[0]}/rating").json()
    assert (shown["level_zh"], shown["channel"], shown["comment"]) == ("非常满意", "online", "窗口热情")
    assert "rectification" not in shown  # the applicant does not see the internal follow-up
    staff = as_user("supervisor").get(f"{URL}/cases/{ids[3]}/rating")
    assert "rectification" in staff.json(), staff.text
    assert staff.json()["rectification"]["status"] == "open"
    # a second rating: 409; a level outside 1..5: 422
    again = zhangsan.send("POST", f"{URL}/cases/{ids[0]}/rating", json={"level": 1})
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    fresh = case_on(db, zhangsan, world, shanghai_today())
    for bad in (0, 6, True):
        assert zhangsan.send("POST", f"{URL}/cases/{fresh}/rating", json={"level": bad}).status_code == 422
    assert (
        zhangsan.send(
            "POST", f"{URL}/cases/{fresh}/rating", json={"level": 5, "channel": "pigeon"}
        ).status_code
        == 422
    )
    # a case still open cannot be rated yet
    running = case_on(db, zhangsan, world, shanghai_today(), final=False)
    assert zhangsan.send("POST", f"{URL}/cases/{running}/rating", json={"level": 5}).status_code == 409
    # someone else's case: another applicant, a department, an outsider
    assert (
        as_user("company").send("POST", f"{URL}/cases/{fresh}/rating", json={"level": 1}).status_code == 403
    )
    assert as_user("company").get(f"{URL}/cases/{ids[0]}/rating").status_code == 403
    assert (
        as_user("rv_planning").send("POST", f"{URL}/cases/{fresh}/rating", json={"level": 1}).status_code
        == 403
    )
    assert (
        as_user("outsider").send("POST", f"{URL}/cases/{fresh}/rating", json={"level": 1}).status_code == 403
    )
    assert as_user("outsider").get(f"{URL}/cases/{ids[0]}/rating").status_code == 403
    # the window records its device's rating (always channel window); the applicant may not claim it
    fresh = case_on(db, zhangsan, world, shanghai_today(), joint=True)
    assert (
        zhangsan.send(
            "POST", f"{URL}/cases/{fresh}/rating", json={"level": 5, "channel": "window"}
        ).status_code
        == 422
    )
    r = as_user("window").send("POST", f"{URL}/cases/{fresh}/rating", json={"level": 4, "channel": "online"})
    assert r.status_code == 201 and r.json()["channel"] == "window" and r.json()["rated_by"] == "user:window"
    assert zhangsan.get(f"{URL}/cases/{fresh}/rating").json()["level"] == 4
    with db.read() as s:
        tags = set(s.scalars(select(AuditRecord.tag).where(AuditRecord.tag.like("approvals:r%"))))
        timeline = zhangsan.get(f"{URL}/cases/{ids[0]}/timeline").json()
    assert {"approvals:rating:create", "approvals:rectification:open"} <= tags
    assert "rated" in {e["kind"] for e in timeline}


def test_a_bad_rating_opens_a_rectification_due_in_15_working_days(db, world: W, as_user) -> None:  # noqa: ANN001
    zhangsan = as_user("zhangsan")
    case_id = case_on(db, zhangsan, world, shanghai_today())
    r = zhangsan.send("POST", f"{URL}/cases/{case_id}/rating", json={"level": 1, "comment": "多次跑腿"})
    assert r.status_code == 201
    with db.read() as s:
        rect = s.scalar(select(Rectification).where(Rectification.case_id == case_id))
        expected = calendar.add_workdays(s, shanghai_today(), 15).date
        assert (rect.org_id, rect.status, rect.due_on) == (world.housing, "open", expected)
        housing_users = set(
            s.scalars(select(User.id).where(User.username.in_(("rv_housing", "rv_housing2", "decider"))))
        )
        told = set(
            s.scalars(
                select(Notification.recipient_user_id).where(
                    Notification.source == f"approvals:rectification:{rect.id}"
                )
            )
        )
    assert told == housing_users  # the department's answerers, nobody else
    # the Mid-Autumn / National Day week on the official calendar: 15 working days from 2026-09-28
    other = case_on(db, zhangsan, world, D(2026, 9, 28))
    with unit_of_work(db, CITIZEN) as uow:
        row = ratings.rate(
            uow, principal_of(uow.session, "zhangsan"), other, 2, "", "online", 15, D(2026, 9, 28)
        )
        rect_id = uow.session.scalar(select(Rectification.id).where(Rectification.rating_id == row.id))
    with db.read() as s:
        due = s.get(Rectification, rect_id).due_on
        assert due == calendar.add_workdays(s, D(2026, 9, 28), 15).date == D(2026, 10, 23)


def test_the_setting_sets_the_working_days(db, world: W, as_user, app, settings) -> None:  # noqa: ANN001
    app.state.settings = settings.model_copy(update={"approvals_rectification_days": 5})
    zhangsan = as_user("zhangsan")
    case_id = case_on(db, zhangsan, world, shanghai_today())
    assert zhangsan.send("POST", f"{URL}/cases/{case_id}/rating", json={"level": 2}).status_code == 201
    with db.read() as s:
        rect = s.scalar(select(Rectification).where(Rectification.case_id == case_id))
        assert rect.due_on == calendar.add_workdays(s, shanghai_today(), 5).date
        assert rect.due_on != calendar.add_workdays(s, shanghai_today(), 15).date


def test_answer_follow_up_reopen_and_close(db, world: W, as_user) -> None:  # noqa: ANN001
    zhangsan = as_user("zhangsan")
    case_id = case_on(db, zhangsan, world, shanghai_today())
    rect = zhangsan.send("POST", f"{URL}/cases/{case_id}/rating", json={"level": 1}).json()["rectification"]
    rid = rect["id"]
    housing, planning, supervisor = as_user("rv_housing"), as_user("rv_planning"), as_user("supervisor")
    listed = housing.get(f"{URL}/rectifications").json()
    assert [x["id"] for x in listed] == [rid] and listed[0]["case_number"]
    assert planning.get(f"{URL}/rectifications").json() == []
    assert as_user("outsider").get(f"{URL}/rectifications").status_code == 403
    answer = {"answer": "已对窗口人员进行批评教育，并优化材料清单"}
    assert planning.send("POST", f"{URL}/rectifications/{rid}/answer", json=answer).status_code == 403
    assert zhangsan.send("POST", f"{URL}/rectifications/{rid}/answer", json=answer).status_code == 403
    # follow-up before any answer: 409; by a reviewer: 403
    ok = {"result": "satisfied", "note": "申请人表示认可"}
    assert supervisor.send("POST", f"{URL}/rectifications/{rid}/follow-up", json=ok).status_code == 409
    assert housing.send("POST", f"{URL}/rectifications/{rid}/follow-up", json=ok).status_code == 403
    assert (
        housing.send("POST", f"{URL}/rectifications/{rid}/answer", json={"answer": "已整改"}).status_code
        == 422
    )
    r = housing.send("POST", f"{URL}/rectifications/{rid}/answer", json=answer)
    assert (
        r.status_code == 200
        and r.json()["status"] == "answered"
        and r.json()["answered_by"] == "user:rv_housing"
    )
    assert housing.send("POST", f"{URL}/rectifications/{rid}/answer", json=answer).status_code == 409
    # unsatisfied needs a reason, then reopens on a new clock
    bad = {"result": "unsatisfied", "note": ""}
    assert supervisor.send("POST", f"{URL}/rectifications/{rid}/follow-up", json=bad).status_code == 422
    bad["note"] = "申请人反映问题仍未解决"
    r = supervisor.send("POST", f"{URL}/rectifications/{rid}/follow-up", json=bad)
    got = r.json()
    assert r.status_code == 200 and (got["status"], got["round"], got["answer"]) == ("reopened", 2, None)
    assert got["history"][0]["answer"] == answer["answer"] and got["history"][0]["result"] == "unsatisfied"
    with db.read() as s:
        assert got["due_on"] == calendar.add_workdays(s, shanghai_today(), 15).date.isoformat()
        clocks = s.scalar(select(Rectification.clock_id).where(Rectification.id == rid))
        assert clocks != rect.get("clock_id")
    assert housing.send("POST", f"{URL}/rectifications/{rid}/answer", json=answer).status_code == 200
    r = supervisor.send("POST", f"{URL}/rectifications/{rid}/follow-up", json=ok)
    assert r.status_code == 200 and r.json()["status"] == "closed" and len(r.json()["history"]) == 2
    with db.read() as s:
        tags = list(
            s.scalars(select(AuditRecord.tag).where(AuditRecord.tag.like("approvals:rectification:%")))
        )
    for tag in ("open", "answer", "reopen", "close"):
        assert f"approvals:rectification:{tag}" in tags


def test_overdue_rectifications_are_escalated_once(db, world: W, as_user) -> None:  # noqa: ANN001
    zhangsan = as_user("zhangsan")
    case_id = case_on(db, zhangsan, world, D(2026, 9, 28))
    with unit_of_work(db, CITIZEN) as uow:
        ratings.rate(uow, principal_of(uow.session, "zhangsan"), case_id, 1, "", "online", 15, D(2026, 9, 28))
    with unit_of_work(db, ME) as uow:
        assert ratings.sweep_rectifications(uow, D(2026, 10, 23)) == 0  # the last day
    with unit_of_work(db, ME) as uow:
        assert ratings.sweep_rectifications(uow, D(2026, 10, 26)) == 1
    with unit_of_work(db, ME) as uow:
        assert ratings.sweep_rectifications(uow, D(2026, 10, 27)) == 0  # once
    with db.read() as s:
        rect = s.scalar(select(Rectification).where(Rectification.case_id == case_id))
        assert rect.escalated_at is not None and rect.status == "open"
        sup = s.scalar(select(User.id).where(User.username == "supervisor"))
        told = set(
            s.scalars(
                select(Notification.recipient_user_id).where(
                    Notification.source == f"approvals:rectification:{rect.id}",
                    Notification.dedupe_key.like("%escalate%"),
                )
            )
        )
        assert sup in told
        assert s.scalar(select(AuditRecord.id).where(AuditRecord.tag == "approvals:rectification:escalate"))


def test_statistics_by_item_department_and_window(db, world: W, as_user) -> None:  # noqa: ANN001
    zhangsan = as_user("zhangsan")
    company = as_user("company")
    day = D(2026, 10, 12)
    plan = [(CITIZEN, 5), (CITIZEN, 4), (CITIZEN, 3), (CITIZEN, 1), (COMPANY, 2), (COMPANY, 5)]
    for who, level in plan:
        case_id = case_on(db, zhangsan if who is CITIZEN else company, world, day, who)
        with unit_of_work(db, who) as uow:
            ratings.rate(uow, principal_of(uow.session, who.name), case_id, level, "", "online", 15, day)
    outside = case_on(db, zhangsan, world, D(2026, 11, 2))
    with unit_of_work(db, CITIZEN) as uow:
        ratings.rate(uow, principal_of(uow.session, "zhangsan"), outside, 1, "", "online", 15, D(2026, 11, 2))
    supervisor = as_user("supervisor")
    q = "from=2026-10-01&to=2026-10-31"
    for by, key in (("item", None), ("department", world.housing), ("window", world.housing)):
        got = supervisor.get(f"{URL}/ratings/stats?by={by}&{q}").json()
        assert len(got["rows"]) == 1, got
        row = got["rows"][0]
        if key is not None:
            assert row["key"] == key
        else:
            assert row["code"] == world.simple_item
        assert row["count"] == 6 and row["bad"] == 2
        assert row["levels"] == {"5": 2, "4": 1, "3": 1, "2": 1, "1": 1}
        assert row["satisfaction_rate"] == round(4 / 6, 4)
        assert (row["rectifications_open"], row["rectifications_overdue"]) == (2, 2)  # past their due dates
        assert got["total"]["count"] == 6
    assert supervisor.get(f"{URL}/ratings/stats?by=colour&{q}").status_code == 422
    assert supervisor.get(f"{URL}/ratings/stats?by=item&from=2026-12-01&to=2026-11-01").status_code == 422
    assert as_user("rv_housing").get(f"{URL}/ratings/stats?{q}").status_code == 403
    assert as_user("outsider").get(f"{URL}/ratings/stats?{q}").status_code == 403
    with db.read() as s:
        sup = principal_of(s, "supervisor")
        board = rq.board_context(s, sup, D(2026, 10, 31))["rating_stats"]
        assert board["allowed"] and board["total"]["count"] == 6 and len(board["bad"]) == 2
        assert not rq.board_context(s, principal_of(s, "rv_housing"), D(2026, 10, 31))["rating_stats"][
            "allowed"
        ]
        assert s.scalar(select(Rating.id).where(Rating.case_id == outside))
