"""Draw a flow definition as an SVG diagram, server-side and without JavaScript: the stages as boxes from left
to right in the order `next` gives; a joint review as one box per department, fanning out from the stage
before and joining into the stage after; each box with its time budget in working days; the returns
(`on_reject: return`) as dashed arcs over the boxes, back to the stage they return to; the rejections (the
default `on_reject`, and the decision) as red dashed edges down to a 不予许可 end.

A pure function of the definition (and the organizations' names): no database, no state."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from zhicheng.approvals.flowdef import KINDS, REVIEWS, Flow, Stage, parse

BOX_W, BOX_H = 156, 62  # one stage's box
DEPT_H, DEPT_GAP = 50, 14  # one department's box in a joint review
GAP_X = 64  # between columns
MARGIN_X, ARC_SPACE, END_SPACE = 24, 56, 86  # left/right; above (returns); below (rejections)
MAX_LABEL = 11  # characters shown in a box; the whole name is in the box's <title>

WORDS = {
    "zh": {
        "days": "{n} 个工作日",
        "end": "办结",
        "rejected": "不予许可",
        "return": "不同意：退回{to}",
        "reject": "不同意",
        "parallel": "并联，全部办结后进入下一环节",
        "window": "受理窗口",
        "decider": "审批部门",
        "title": "办理流程图",
    },
    "en": {
        "days": "{n} working days",
        "end": "completed",
        "rejected": "rejected",
        "return": "rejected: back to {to}",
        "reject": "rejected",
        "parallel": "in parallel; moves on when all have concluded",
        "window": "the window",
        "decider": "the deciding department",
        "title": "flow diagram",
    },
}
KINDS_EN = {
    "accept": "Acceptance",
    "review": "Review",
    "joint_review": "Joint review",
    "decide": "Decision",
    "deliver": "Delivery",
}


@dataclass(frozen=True)
class _Col:
    stage: Stage
    x: float
    boxes: tuple[tuple[float, float, float, int | None], ...]  # (x, y, height, org_id) per box


def draw(
    definition: dict[str, Any] | Flow,
    names: dict[int, str] | None = None,
    window_org: int | None = None,
    deciding_org: int | None = None,
    lang: str = "zh",
) -> str:
    """The SVG (a string, <svg>…</svg>) of a flow. `names` maps organization ids to names; `window_org` and
    `deciding_org` name who acts in stages that do not say (an item's window and deciding department)."""
    flow = definition if isinstance(definition, Flow) else parse(definition)
    names = names or {}
    words = WORDS["en" if lang == "en" else "zh"]
    order = flow.path()
    order += [s for s in flow.stages if s not in order]  # unreachable stages (a valid flow has none)
    tallest = max((len(s.departments) for s in order), default=1) or 1
    body_h = max(BOX_H, tallest * DEPT_H + (tallest - 1) * DEPT_GAP) + 28  # + the joint review's caption
    mid = ARC_SPACE + body_h / 2
    cols: list[_Col] = []
    x = MARGIN_X
    for s in order:
        if s.kind == "joint_review":
            n = len(s.departments)
            top = mid - (n * DEPT_H + (n - 1) * DEPT_GAP) / 2
            boxes = tuple((x, top + i * (DEPT_H + DEPT_GAP), DEPT_H, d) for i, d in enumerate(s.departments))
        else:
            boxes = ((x, mid - BOX_H / 2, BOX_H, _actor(s, window_org, deciding_org)),)
        cols.append(_Col(s, x, boxes))
        x += BOX_W + GAP_X
    end_x = x
    width = end_x + 64 + MARGIN_X
    height = ARC_SPACE + body_h + END_SPACE
    by_id = {c.stage.id: c for c in cols}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="zc-flow" role="img" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" '
        'font-size="13">',
        f"<title>{escape(words['title'])}</title>",
        "<defs>"
        '<marker id="zc-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
        '<marker id="zc-arrow-red" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c0392b"/></marker>'
        "</defs>",
    ]
    # forward edges: every box of a column to every box of the next one (fan out, join)
    for a, b in zip(cols, cols[1:], strict=False):
        if a.stage.next != b.stage.id:
            continue
        for ax, ay, ah, _o in a.boxes:
            for bx, by, bh, _o2 in b.boxes:
                out.append(_edge(ax + BOX_W, ay + ah / 2, bx, by + bh / 2, "next"))
    last = cols[-1] if cols else None
    if last is not None and last.stage.next is None:
        lx, ly, lh, _o = last.boxes[0]
        cx, cy = end_x + 26, ly + lh / 2
        out.append(_edge(lx + BOX_W, cy, cx - 16, cy, "next"))
        out.append(
            f'<g class="end" data-end="completed"><circle cx="{cx:.0f}" cy="{cy:.0f}" r="16" fill="#eaf5ea" '
            f'stroke="#2e7d32" stroke-width="2"/><text x="{cx:.0f}" y="{cy + 34:.0f}" text-anchor="middle" '
            f'fill="#2e7d32">{escape(words["end"])}</text></g>'
        )
    # rejections and returns
    rejects = [c for c in cols if (c.stage.kind in REVIEWS and c.stage.on_reject.action == "reject")]
    rejects += [c for c in cols if c.stage.kind == "decide"]
    if rejects:
        decide = next((c for c in cols if c.stage.kind == "decide"), rejects[-1])
        ex, lane = decide.x + BOX_W / 2, ARC_SPACE + body_h + 14
        ey = lane + 34
        for c in rejects:
            bx, by, bh, _o = c.boxes[-1]
            sx = bx + BOX_W / 2 + (10 if c is not decide else 0)
            sy = by + bh + (8 if c.stage.kind == "joint_review" else 0)
            path = (
                f"M{sx:.0f},{sy:.0f} V{lane:.0f} H{ex:.0f} V{ey - 14:.0f}"
                if c is not decide
                else (f"M{sx:.0f},{sy:.0f} V{ey - 14:.0f}")
            )
            out.append(
                f'<path class="edge reject" data-from="{escape(c.stage.id)}" d="{path}" fill="none" '
                f'stroke="#c0392b" stroke-dasharray="5 4" marker-end="url(#zc-arrow-red)">'
                f"<title>{escape(words['reject'])}</title></path>"
            )
        out.append(
            f'<g class="end" data-end="rejected"><rect x="{ex - 40:.0f}" y="{ey - 14:.0f}" width="80" '
            f'height="28" rx="14" fill="#fdecea" stroke="#c0392b"/><text x="{ex:.0f}" y="{ey + 5:.0f}" '
            f'text-anchor="middle" fill="#c0392b">{escape(words["rejected"])}</text></g>'
        )
    for c in cols:
        if c.stage.on_reject.action != "return" or c.stage.on_reject.to not in by_id:
            continue
        t = by_id[c.stage.on_reject.to]
        top = min(b[1] for b in c.boxes) - (22 if c.stage.kind == "joint_review" else 0)
        ttop = min(b[1] for b in t.boxes) - (22 if t.stage.kind == "joint_review" else 0)
        x1, x2 = c.x + BOX_W * 0.65, t.x + BOX_W * (0.35 if t is not c else 0.35)
        label = words["return"].format(to=_stage_name(t.stage, lang))
        out.append(
            f'<path class="edge return" data-from="{escape(c.stage.id)}" data-to="{escape(t.stage.id)}" '
            f'd="M{x1:.0f},{top:.0f} C{x1:.0f},{8:.0f} {x2:.0f},{8:.0f} {x2:.0f},{ttop:.0f}" fill="none" '
            f'stroke="#b26a00" stroke-dasharray="6 4" marker-end="url(#zc-arrow)">'
            f"<title>{escape(label)}</title></path>"
            f'<text x="{(x1 + x2) / 2:.0f}" y="{18:.0f}" text-anchor="middle" fill="#b26a00" '
            f'font-size="12">{escape(label)}</text>'
        )
    # the boxes last, over the edges
    for c in cols:
        out.append(_column(c, names, words, lang))
    out.append("</svg>")
    return "".join(out)


def _actor(stage: Stage, window_org: int | None, deciding_org: int | None) -> int | None:
    if stage.org_id is not None:
        return stage.org_id
    return window_org if stage.kind in ("accept", "deliver") else deciding_org


def _stage_name(stage: Stage, lang: str) -> str:
    if lang == "en" and stage.name == KINDS[stage.kind]:
        return KINDS_EN[stage.kind]
    return stage.name


def _fit(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _edge(x1: float, y1: float, x2: float, y2: float, cls: str) -> str:
    dx = (x2 - x1) / 2
    return (
        f'<path class="edge {cls}" d="M{x1:.0f},{y1:.0f} C{x1 + dx:.0f},{y1:.0f} {x2 - dx:.0f},{y2:.0f} '
        f'{x2:.0f},{y2:.0f}" fill="none" stroke="#555" stroke-width="1.3" marker-end="url(#zc-arrow)"/>'
    )


def _column(c: _Col, names: dict[int, str], words: dict[str, str], lang: str) -> str:
    s = c.stage
    name = _stage_name(s, lang)
    days = words["days"].format(n=s.days)
    kind = KINDS_EN[s.kind] if lang == "en" else KINDS[s.kind]
    colour = {"accept": "#e8f0fb", "deliver": "#eaf5ea", "decide": "#fff4e0"}.get(s.kind, "#f4f4f8")
    parts = [f'<g class="stage" data-stage="{escape(s.id)}" data-kind="{s.kind}" data-days="{s.days}">']
    if s.kind == "joint_review":
        top = c.boxes[0][1]
        bottom = c.boxes[-1][1] + c.boxes[-1][2]
        parts.append(
            f"<title>{escape(name)} · {escape(days)} · {escape(words['parallel'])}</title>"
            f'<rect x="{c.x - 8:.0f}" y="{top - 30:.0f}" width="{BOX_W + 16}" '
            f'height="{bottom - top + 38:.0f}" rx="8" fill="none" stroke="#7a7aa0" stroke-dasharray="4 3"/>'
            f'<text x="{c.x + BOX_W / 2:.0f}" y="{top - 12:.0f}" text-anchor="middle" font-weight="bold">'
            f"{escape(_fit(name))} · {escape(days)}</text>"
        )
        for bx, by, bh, org in c.boxes:
            label = names.get(org, f"#{org}") if org is not None else ""
            parts.append(
                f'<g class="dept" data-org="{org}"><title>{escape(label)}</title>'
                f'<rect x="{bx:.0f}" y="{by:.0f}" width="{BOX_W}" height="{bh:.0f}" rx="6" fill="{colour}" '
                f'stroke="#555"/><text x="{bx + BOX_W / 2:.0f}" y="{by + bh / 2 - 2:.0f}" '
                f'text-anchor="middle">{escape(_fit(label))}</text>'
                f'<text x="{bx + BOX_W / 2:.0f}" y="{by + bh / 2 + 15:.0f}" text-anchor="middle" '
                f'fill="#666" font-size="11">{escape(kind)}</text></g>'
            )
    else:
        bx, by, bh, org = c.boxes[0]
        who = (
            names.get(org, f"#{org}")
            if org is not None
            else words["window"]
            if s.kind in ("accept", "deliver")
            else words["decider"]
        )
        parts.append(
            f"<title>{escape(name)} · {escape(who)} · {escape(days)}</title>"
            f'<rect x="{bx:.0f}" y="{by:.0f}" width="{BOX_W}" height="{bh:.0f}" rx="8" fill="{colour}" '
            f'stroke="#333" stroke-width="1.5"/>'
            f'<text x="{bx + BOX_W / 2:.0f}" y="{by + 20:.0f}" text-anchor="middle" font-weight="bold">'
            f"{escape(_fit(name))}</text>"
            f'<text x="{bx + BOX_W / 2:.0f}" y="{by + 38:.0f}" text-anchor="middle" fill="#444" '
            f'font-size="12">{escape(_fit(who))}</text>'
            f'<text x="{bx + BOX_W / 2:.0f}" y="{by + 54:.0f}" text-anchor="middle" fill="#666" '
            f'font-size="11" class="days">{escape(days)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)
