"""The quality console: a consumer reports through the form, the provider finds it in the inbox (most urgent
first) and answers, the data authority opens and cancels a maintenance task on the resource page, which
shows timeliness and completeness bars; errors re-render readably; wrong departments are refused."""

from __future__ import annotations

import datetime as dt
import re

from tests.quality.conftest import ME, host, report
from zhicheng.catalog.models import Resource
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work
from zhicheng.quality import services

REJECT = "经核对工商登记原件，企业名称未发生变更，数据无误"


def ids(html: str, testid: str, attr: str = "correction") -> list[int]:
    table = html.split(f'data-testid="{testid}"')[1].split("</table>")[0]
    return [int(x) for x in re.findall(rf'data-{attr}="(\d+)"', table)]


def form(resource_id: int, **over: str) -> dict:
    return {
        "resource_id": str(resource_id),
        "item": "企业名称",
        "record_key": "913201000000000002",
        "problem": "企业已更名，名称未同步",
        "suggested": "南京新名称有限公司",
        **over,
    }


def test_report_find_in_inbox_and_answer(db, world, as_user) -> None:  # noqa: ANN001
    clerk, provider = as_user("clerk"), as_user("provider")
    page = clerk.get(f"/quality/corrections/new?resource={world['daily']}")
    assert page.status_code == 200 and "企业登记基础信息" in page.text and "南京市数据局" in page.text
    assert '<option value="法定代表人"' in page.text
    assert clerk.get("/quality/corrections/new").status_code == 404

    missing = clerk.form("/quality/corrections/new", form(world["daily"], record_key=""))
    assert missing.status_code == 422 and "记录标识：必填" in missing.text
    assert "企业已更名，名称未同步" in missing.text  # what was typed stays
    r = clerk.form("/quality/corrections/new", form(world["daily"]))
    assert r.status_code == 303, r.text
    cid = int(re.fullmatch(r"/quality/corrections/(\d+)", r.headers["location"]).group(1))
    shown = clerk.get(r.headers["location"])
    assert "已报告数据纠错" in shown.text and "报告数据错误" in shown.text and "待提供方核实" in shown.text
    assert 'data-testid="form-answer"' not in shown.text  # the consumer does not answer
    assert ids(clerk.get("/quality/corrections").text, "corrections") == [cid]

    # an older report is more urgent: it comes first in the provider's inbox
    older = report(db, world["daily"], on=shanghai_today() - dt.timedelta(days=3), record_key="OLD-1")
    inbox = provider.get("/quality/inbox")
    assert inbox.status_code == 200 and ids(inbox.text, "inbox-corrections") == [older, cid]
    page = provider.get(f"/quality/corrections/{cid}")
    assert 'data-testid="form-answer"' in page.text

    short = provider.form(f"/quality/corrections/{cid}/answer", {"corrected": "0", "note": "不对"})
    assert short.status_code == 422 and "至少 10 个字" in short.text and ">不对</textarea>" in short.text
    r = provider.form(f"/quality/corrections/{cid}/answer", {"corrected": "0", "note": REJECT})
    assert (r.status_code, r.headers["location"]) == (303, f"/quality/corrections/{cid}")
    done = clerk.get(f"/quality/corrections/{cid}")
    timeline = done.text.split('data-testid="timeline"')[1]
    assert "提供方不予更正" in timeline and REJECT in timeline and "user:provider" in timeline
    again = provider.form(f"/quality/corrections/{cid}/answer", {"corrected": "1", "note": ""})
    assert again.status_code == 409 and "已被他人处理，请刷新" in again.text
    assert ids(provider.get("/quality/inbox").text, "inbox-corrections") == [older]

    # who else may look: not another district, not the outsider; the consumer may not answer
    assert as_user("district_admin").get(f"/quality/corrections/{cid}").status_code == 403
    assert as_user("outsider").get("/quality/inbox").status_code == 403
    assert clerk.form(f"/quality/corrections/{older}/answer", {"corrected": "1"}).status_code == 403


def test_resource_page_timeliness_completeness_and_tasks(db, world, as_user) -> None:  # noqa: ANN001
    host(db, world["daily"])
    report(db, world["daily"], on=shanghai_today())
    clerk, authority, provider = as_user("clerk"), as_user("authority"), as_user("provider")
    page = clerk.get(f"/quality/resources/{world['daily']}")
    assert page.status_code == 200
    assert 'data-overdue="false"' in page.text and "按期更新" in page.text
    bars = page.text.split('data-testid="completeness"')[1].split("</table>")[0]
    assert 'data-item="法定代表人" data-share="0.625"' in bars and "5 / 8" in bars and "4 / 8" in bars
    assert 'data-testid="report"' in page.text and 'data-testid="form-task"' not in page.text
    assert len(ids(page.text, "resource-corrections")) == 1  # the clerk's department reported it

    empty = clerk.get(f"/quality/resources/{world['monthly']}")
    assert 'data-testid="completeness-none"' in empty.text

    page = authority.get(f"/quality/resources/{world['daily']}")
    assert 'data-testid="form-task"' in page.text
    short = authority.form(f"/quality/resources/{world['daily']}/tasks", {"reason": "太短"})
    assert short.status_code == 422 and "至少 10 个字" in short.text
    why = "《市场主体登记管理条例》施行，登记事项调整，目录信息项需相应更新"
    r = authority.form(f"/quality/resources/{world['daily']}/tasks", {"reason": why})
    assert r.status_code == 303
    page = authority.get(r.headers["location"])
    assert "已下达目录维护任务" in page.text and why in page.text
    assert 'data-testid="form-task"' not in page.text  # one open task per resource
    (tid,) = ids(page.text, "resource-tasks", "task")
    assert ids(provider.get("/quality/inbox").text, "inbox-tasks", "task") == [tid]
    assert ids(authority.get("/quality/inbox").text, "review-tasks", "task") == [tid]
    assert provider.form(f"/quality/resources/{world['daily']}/tasks", {"reason": why}).status_code == 403
    assert provider.form(f"/quality/tasks/{tid}/cancel", {"reason": "该法规修订暂缓实施"}).status_code == 403
    r = authority.form(f"/quality/tasks/{tid}/cancel", {"reason": "该法规修订暂缓实施，目录暂不调整"})
    assert r.status_code == 303 and "已取消目录维护任务" in authority.get(r.headers["location"]).text
    assert ids(provider.get("/quality/inbox").text, "inbox-tasks", "task") == []


def test_stale_data_in_the_inbox(db, world, as_user) -> None:  # noqa: ANN001
    with db.read() as s:
        updated = s.get_one(Resource, world["monthly"]).updated_at
    with unit_of_work(db, ME) as uow:
        services.flag_stale(uow, updated + dt.timedelta(days=40))
    inbox = as_user("provider").get("/quality/inbox")
    stale = inbox.text.split('data-testid="inbox-stale"')[1].split("</table>")[0]
    assert "企业登记基础信息" in stale and "企业年报信息" in stale and "食品经营许可信息" not in stale
    review = as_user("authority").get("/quality/inbox").text.split('data-testid="review-stale"')[1]
    review = review.split("</table>")[0]
    assert "南京市数据局" in review and "南京市市场监督管理局" in review
    page = as_user("clerk").get(f"/quality/resources/{world['monthly']}")
    assert 'data-overdue="true"' not in page.text  # the page judges now, not 40 days on ...
    assert "超期未更新" in page.text.split('data-testid="resource-issues"')[1]  # ... but shows the flag
    none = as_user("clerk").get("/quality/inbox")
    assert 'data-testid="inbox-none"' in none.text
