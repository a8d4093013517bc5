"""The flow drawing: a pure function from a definition to SVG, with every stage, every department of a joint
review fanning out and joining, the time budgets, and the return and rejection edges the definition names."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from zhicheng.approvals.flowdef import FlowInvalid
from zhicheng.approvals.flowdraw import draw

SVG = "{http://www.w3.org/2000/svg}"
DEFINITION = {
    "stages": [
        {"id": "accept", "kind": "accept", "days": 1, "next": "pre"},
        {"id": "pre", "kind": "review", "days": 3, "org_id": 12, "next": "joint"},
        {
            "id": "joint",
            "kind": "joint_review",
            "name": "联合审查",
            "days": 8,
            "departments": [12, 13, 14, 15],
            "on_reject": {"action": "return", "to": "pre"},
            "next": "decide",
        },
        {"id": "decide", "kind": "decide", "days": 2, "next": "deliver"},
        {"id": "deliver", "kind": "deliver", "days": 10},
    ]
}
NAMES = {
    1: "南京市行政审批局",
    12: "南京市城乡建设委员会",
    13: "南京市规划和自然资源局",
    14: "消防<支队>",
    15: "人防办",
}


def test_every_stage_and_every_joint_department_is_drawn() -> None:
    svg = draw(DEFINITION, NAMES, window_org=1, deciding_org=12)
    root = ET.fromstring(svg)  # well-formed XML, names escaped
    assert root.tag == f"{SVG}svg"
    stages = {g.get("data-stage"): g for g in root.iter(f"{SVG}g") if g.get("data-stage")}
    assert list(stages) == ["accept", "pre", "joint", "decide", "deliver"]  # left to right, in flow order
    assert {k: g.get("data-days") for k, g in stages.items()} == {
        "accept": "1",
        "pre": "3",
        "joint": "8",
        "decide": "2",
        "deliver": "10",
    }
    depts = [g.get("data-org") for g in stages["joint"].iter(f"{SVG}g") if g.get("data-org")]
    assert depts == ["12", "13", "14", "15"]
    for name in NAMES.values():  # whole names, escaped, at least in the boxes' titles
        assert name.replace("<", "&lt;").replace(">", "&gt;") in svg
    assert "8 个工作日" in svg and "10 个工作日" in svg and "联合审查" in svg
    # the boxes run left to right: x grows along the flow
    xs = [float(next(g.iter(f"{SVG}rect")).get("x")) for g in stages.values()]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    # the joint review fans out from the stage before and joins into the one after: 4 + 4 edges
    nexts = [p for p in root.iter(f"{SVG}path") if "next" in (p.get("class") or "").split()]
    assert len(nexts) == 1 + 4 + 4 + 1 + 1  # accept→pre, pre→4, 4→decide, decide→deliver, deliver→end


def test_returns_and_rejections_follow_the_definition() -> None:
    root = ET.fromstring(draw(DEFINITION, NAMES))
    paths = list(root.iter(f"{SVG}path"))
    returns = [(p.get("data-from"), p.get("data-to")) for p in paths if "return" in p.get("class", "")]
    assert returns == [("joint", "pre")]
    rejects = [p.get("data-from") for p in paths if "reject" in p.get("class", "").split()]
    assert rejects == ["pre", "decide"]  # pre rejects by default; the joint review returns instead
    ends = {g.get("data-end") for g in root.iter(f"{SVG}g") if g.get("data-end")}
    assert ends == {"completed", "rejected"}


def test_defaults_english_and_a_flow_without_delivery() -> None:
    simple = {
        "stages": [
            {"id": "accept", "kind": "accept", "days": 1, "next": "review"},
            {"id": "review", "kind": "review", "days": 5, "next": "decide"},
            {"id": "decide", "kind": "decide", "days": 2},
        ]
    }
    svg = draw(simple)  # nobody named: the roles stand in
    assert (
        "受理窗口" in svg
        and "审批部门" in svg
        and "#" not in re.sub(r"#zc-arrow[-a-z]*|#[0-9a-f]{3,6}", "", svg)
    )
    en = draw(simple, lang="en")
    assert "Acceptance" in en and "5 working days" in en and "个工作日" not in en
    with pytest.raises(FlowInvalid):
        draw({"stages": [{"id": "x", "kind": "nope", "days": 1}]})
