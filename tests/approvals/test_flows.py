"""Flow definitions: validation with clear errors, immutable versions, budgets against items' promised limits,
and a case staying on the flow version it started with."""

from __future__ import annotations

import pytest

from tests.approvals.conftest import ME, URL, W, apply, item_body, joint_def
from zhicheng.approvals import flowdef, flows
from zhicheng.approvals.flows import known_roles
from zhicheng.approvals.schemas import FlowIn
from zhicheng.core.db import unit_of_work


def stages(*items: dict) -> dict:
    return {"stages": list(items)}


OK = stages(
    {"id": "accept", "kind": "accept", "days": 1, "next": "pre"},
    {"id": "pre", "kind": "review", "days": 3, "next": "joint"},
    {
        "id": "joint",
        "kind": "joint_review",
        "days": 5,
        "departments": [1, 2],
        "on_reject": {"action": "return", "to": "pre"},
        "next": "decide",
    },
    {"id": "decide", "kind": "decide", "days": 2, "next": "deliver"},
    {"id": "deliver", "kind": "deliver", "days": 10},
)


def problems(definition: dict) -> list[str]:
    with pytest.raises(flowdef.FlowInvalid) as err:
        flowdef.parse(definition, known_roles())
    return [p["en"] for p in err.value.extra["errors"]]


def test_a_good_definition_parses_in_order() -> None:
    flow = flowdef.parse(OK, known_roles())
    assert [s.id for s in flow.path()] == ["accept", "pre", "joint", "decide", "deliver"]
    assert (
        flow.decision_days() == 10
    )  # review 3 + joint 5 + decide 2; accept and delivery are outside the limit
    assert flow.stage("joint").on_reject == flowdef.OnReject("return", "pre")
    assert flow.stage("pre").on_reject == flowdef.OnReject("reject")


def test_bad_definitions_are_refused_with_every_problem_named() -> None:
    bad = stages(
        {"id": "accept", "kind": "accept", "days": 9, "next": "x"},
        {"id": "x", "kind": "parallel", "days": 1},
    )
    errors = problems(bad)
    assert any("unknown stage kind 'parallel'" in e for e in errors)
    unreachable = stages(
        {"id": "accept", "kind": "accept", "days": 1, "next": "decide"},
        {"id": "lost", "kind": "review", "days": 1, "next": "decide"},
        {"id": "decide", "kind": "decide", "days": 1},
    )
    assert problems(unreachable) == ["stage lost is unreachable from the accept stage"]
    loop = stages(
        {"id": "accept", "kind": "accept", "days": 1, "next": "a"},
        {"id": "a", "kind": "review", "days": 1, "next": "b"},
        {"id": "b", "kind": "review", "days": 1, "next": "a"},
        {"id": "decide", "kind": "decide", "days": 1},
    )
    assert any("loop" in e for e in problems(loop))
    many = problems(
        stages(
            {"id": "accept", "kind": "accept", "days": 6, "next": "j", "roles": ["approvals_reviewer"]},
            {
                "id": "j",
                "kind": "joint_review",
                "days": 2,
                "departments": [5],
                "next": "decide",
                "on_reject": {"action": "return", "to": "decide"},
            },
            {"id": "decide", "kind": "decide", "days": 1, "next": "deliver", "depts": [1]},
            {"id": "deliver", "kind": "deliver", "days": 11},
        )
    )
    assert "stage accept (accept) may take at most 5 working days" in many
    assert "stage deliver (deliver) may take at most 10 working days" in many
    assert "stage j: a joint review needs 2+ departments" in many
    assert "stage decide: unknown keys ['depts']" in many
    assert "role approvals_reviewer lacks approvals.accept and cannot act in stage accept" in many
    returns = problems(
        stages(
            {"id": "accept", "kind": "accept", "days": 1, "next": "r"},
            {
                "id": "r",
                "kind": "review",
                "days": 1,
                "next": "decide",
                "on_reject": {"action": "return", "to": "later"},
            },
            {"id": "decide", "kind": "decide", "days": 1, "next": "later"},
            {"id": "later", "kind": "review", "days": 1, "next": "decide"},
        )
    )
    assert any("only the deliver stage may follow the decide stage" in e for e in returns)
    assert problems({"stages": []}) == ["expected 1 to 30 stages"]
    assert problems({"steps": []}) == ["expected {stages: [...]}"]
    first = problems(stages({"id": "decide", "kind": "decide", "days": 1}))
    assert "the first stage must be the accept stage" in first


def test_budgets_must_fit_the_promised_limit(db, world: W, as_user) -> None:  # noqa: ANN001
    manager = as_user("manager")
    # the joint flow budgets 8 + 2 = 10 working days from acceptance to the decision
    too_short = item_body(world, code="320100-XK-0009", promised_days=9)
    r = manager.send("POST", f"{URL}/items", json=too_short)
    assert r.status_code == 422 and "10 working days" in r.json()["messages"]["en"]
    # a new version of the flow that would break an item on it is refused, naming the item
    longer = joint_def([world.housing, world.planning, world.fire, world.civil])
    longer["stages"][1]["days"] = 14
    body = {"code": world.joint_flow, "name": "并联审批", "owner_org_id": world.bureau, "definition": longer}
    r = manager.send("POST", f"{URL}/flows", json=body)
    assert r.status_code == 422 and world.joint_item in r.json()["messages"]["en"]
    r = manager.send("POST", f"{URL}/flows/validate", json={"definition": longer})
    assert r.json()["valid"] is True and r.json()["decision_days"] == 16  # alone it is fine
    r = manager.send("POST", f"{URL}/flows/validate", json={"definition": {"stages": [{"id": "Bad"}]}})
    assert r.status_code == 200 and r.json()["valid"] is False and r.json()["errors"][0]["stage"] == "#1"


def test_unknown_organizations_are_refused(db, world: W) -> None:  # noqa: ANN001
    with db.read() as s, pytest.raises(flowdef.FlowInvalid) as err:
        flows.check(s, joint_def([world.housing, 999_999]))
    assert "organization 999999 not found" in err.value.extra["errors"][0]["en"]


def test_versions_are_immutable_and_cases_keep_theirs(db, world: W, as_user) -> None:  # noqa: ANN001
    citizen, manager, window = as_user("zhangsan"), as_user("manager"), as_user("window")
    old = apply(citizen, world)
    assert (old["flow_code"], old["flow_version"]) == (world.joint_flow, 1)
    # version 2: the joint review drops 人防 and returns rejections to itself
    definition = joint_def(
        [world.housing, world.planning, world.fire], on_reject={"action": "return", "to": "joint"}
    )
    body = {
        "code": world.joint_flow,
        "name": "建筑工程施工许可并联审批",
        "owner_org_id": world.bureau,
        "definition": definition,
        "note": "人防审查并入规划",
    }
    r = manager.send("POST", f"{URL}/flows", json=body)
    assert r.status_code == 201 and r.json()["version"] == 2 and r.json()["versions"] == [1, 2]
    again = manager.send("POST", f"{URL}/flows", json=body)
    assert again.json()["version"] == 2  # the same definition again: no new version
    new = apply(citizen, world)
    assert new["flow_version"] == 2
    for case in (old, new):
        assert window.send("POST", f"{URL}/cases/{case['id']}/accept", json={}).status_code == 200
    old_tasks = window.get(f"{URL}/cases/{old['id']}").json()["tasks"]
    new_tasks = window.get(f"{URL}/cases/{new['id']}").json()["tasks"]
    assert len(old_tasks) == 4 and len(new_tasks) == 3
    v1 = manager.get(f"{URL}/flows/{world.joint_flow}/versions/1").json()
    assert len(v1["definition"]["stages"][1]["departments"]) == 4
    assert manager.get(f"{URL}/flows/nope").status_code == 404
    with db.read() as s:
        assert flows.latest(s, world.joint_flow).version == 2


def test_publishing_needs_the_permission_over_the_owner(db, world: W, as_user) -> None:  # noqa: ANN001
    body = {"code": "other", "name": "其他流程", "owner_org_id": world.bureau, "definition": OK}
    assert as_user("clerk").send("POST", f"{URL}/flows", json=body).status_code == 403
    assert as_user("district_admin").send("POST", f"{URL}/flows", json=body).status_code == 403
    with unit_of_work(db, ME) as uow:  # the ids 1 and 2 in OK are the province and the city: they exist
        row, new = flows.publish(uow, FlowIn(**body))
    assert new and row.version == 1
