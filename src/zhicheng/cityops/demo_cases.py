"""The demo's cases (cityops.demo loads them): about 210 stories from every channel in every state of the
loop over the 30 days before the load, each reported through intake and played through the loop's steps in
one transaction, dated relative to the load day. A fixed seed: every load plays the same stories, and a
story already played (its idempotency key `cityops-demo-<n>` is stored) is skipped."""

from __future__ import annotations

import datetime as dt
import io
import random
import struct
import zlib
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from zhicheng.cityops import categories, intake, loop, photos, vocab
from zhicheng.cityops import demo_data as data
from zhicheng.cityops.demo_data import GridSpec, grid_specs
from zhicheng.cityops.models import Reporter
from zhicheng.cityops.schemas import ActionIn, HotlineIn, LocationIn, ReporterIn, ReportIn
from zhicheng.core.db import Actor, Database, UnitOfWork, utcnow
from zhicheng.demo import city, people

KEY = "cityops-demo-"
SEED = "zhicheng-cityops-demo-2026"
DAYS = 30
RANDOM_CASES = 110
MAX_PHOTO = 10 * 1024 * 1024
ZONE = ZoneInfo("Asia/Shanghai")


# --- the cases -------------------------------------------------------------------------------------------


@dataclass
class Story:
    n: int
    channel: str
    category: str
    grid: int  # index in grid_specs()
    fx: float
    fy: float
    days_ago: int
    minute: int  # of the day it was reported (Asia/Shanghai)
    state: str  # a status of vocab.STATUSES, or one of demo_data.EXTRA
    seed: int
    duplicate: str | None = None  # a second channel that reports the same thing soon after

    @property
    def key(self) -> str:
        return f"{KEY}{self.n:04d}"


AGES = {
    "reported": (0, 1),
    "registered": (0, 1),
    "cancelled": (0, 29),
    "dispatched": (0, 2),
    "handling": (1, 3),
    "handled": (1, 4),
    "returned": (1, 5),
    "disputed": (2, 6),
    "rework": (2, 6),
    "closed": (3, 29),
    "evaluated": (5, 29),
    "extension_pending": (2, 5),
    "extension_granted": (3, 8),
    "extension_refused": (3, 8),
    "overdue": (9, 20),
    "overdue_registered": (4, 8),
    "reworked_closed": (6, 29),
}
EXTRA_CHANNELS = {
    "extension_pending": ("hotline", "grid", "sensor"),
    "extension_granted": ("grid", "video", "hotline"),
    "extension_refused": ("hotline", "drone"),
    "overdue": ("hotline", "grid", "sensor", "app", "video"),
    "overdue_registered": ("grid", "drone", "open311"),
    "reworked_closed": ("grid", "hotline", "video", "app"),
}


def stories() -> list[Story]:
    """The demo's cases, the same for every load (a fixed seed), oldest first: one per channel and status,
    the extra stories (extensions, overdue, closed after rework), then a month of everyday ones."""
    rnd = random.Random(SEED)
    specs = grid_specs()
    everything = [categories.key_of(c.kind, c.code) for c in data.CLASSES]
    plan: list[tuple[str, str, int | None]] = [(c, s, None) for c in vocab.CHANNELS for s in data.STATES]
    plan += [(c, s, None) for s, chans in EXTRA_CHANNELS.items() for c in chans]
    channels = [
        c
        for c, w in (
            ("hotline", 9),
            ("grid", 9),
            ("sensor", 2),
            ("drone", 1),
            ("video", 3),
            ("open311", 2),
            ("app", 3),
        )
        for _ in range(w)
    ]
    for _ in range(RANDOM_CASES):
        age = rnd.randrange(DAYS)
        if age <= 1:
            state = rnd.choice(("reported", "registered", "registered", "dispatched", "cancelled"))
        elif age <= 5:
            state = rnd.choice(
                ("dispatched", "handling", "handling", "handled", "closed", "returned", "rework")
            )
        else:
            state = rnd.choice(("evaluated",) * 5 + ("closed",) * 3 + ("cancelled", "reworked_closed"))
        plan.append((rnd.choice(channels), state, age))
    out = []
    for i, (channel, state, age) in enumerate(plan):
        lo, hi = AGES[state]
        pool = data.CHANNEL_CLASSES.get(channel, everything)
        out.append(
            Story(
                n=i + 1,
                channel=channel,
                category=rnd.choice(pool),
                grid=_weighted_grid(rnd, specs),
                fx=rnd.random(),
                fy=rnd.random(),
                days_ago=age if age is not None else rnd.randint(lo, hi),
                minute=rnd.randrange(7 * 60, 22 * 60),
                state=state,
                seed=rnd.randrange(1 << 30),
                duplicate=rnd.choice(("app", "hotline", "grid")) if rnd.random() < 0.07 else None,
            )
        )
    out.sort(key=lambda st: (-st.days_ago, st.minute, st.n))
    return out


def _weighted_grid(rnd: random.Random, specs: list[GridSpec]) -> int:
    """A grid, the central districts more often (more people, more cases)."""
    busy = ("xuanwu", "qinhuai", "gulou", "jianye")
    while True:
        i = rnd.randrange(len(specs))
        if specs[i].district in busy or rnd.random() < 0.45:
            return i


def _png(rgb: tuple[int, int, int], w: int = 64, h: int = 48) -> bytes:
    """A small PNG (a colour gradient): the demo's stand-in for a photo."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((min(255, rgb[0] + y), min(255, rgb[1] + x), rgb[2])) for x in range(w))
        for y in range(h)
    )

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PHOTOS = {"report": _png((150, 120, 90)), "before": _png((120, 90, 60)), "after": _png((60, 150, 80))}


def _report_in(st: Story, spec: GridSpec, at: dt.datetime, channel: str, rnd: random.Random) -> ReportIn:
    cls = next(c for c in data.CLASSES if categories.key_of(c.kind, c.code) == st.category)
    lng, lat = spec.point(st.fx, st.fy)
    county = next(code for code, v in city.DISTRICTS.items() if v[1] == spec.district)
    address = f"{city.DISTRICTS[county][0]}{rnd.choice(data.ROADS[county])}{rnd.randint(1, 300)}号附近"
    text, reporter, hotline = cls.problem, None, None
    if channel in data.DEVICES:
        label, prefix = data.DEVICES[channel]
        device = f"{prefix}-{county}-{rnd.randint(1, 400):04d}"
        reading = data.SENSOR_TEXT.get(st.category, "设备告警")
        text = (
            f"{label}告警：{reading}"
            if channel == "sensor"
            else f"{label}：识别到“{cls.name}”，置信度 {rnd.uniform(0.82, 0.98):.2f}。{cls.problem}"
        )
        reporter = ReporterIn(name=label, external_id=device)
    elif channel == "hotline":
        name = rnd.choice(people.SURNAMES) + rnd.choice(data.GIVEN)
        phone = rnd.choice(people.MOBILE_PREFIXES) + f"{rnd.randrange(10**8):08d}"
        hotline = HotlineIn(
            work_order_no=f"NJ{at.astimezone(ZONE):%Y%m%d}{st.n:05d}", caller_name=name, caller_phone=phone
        )
        text = f"市民来电反映：{address}{cls.problem}，请尽快处理。"
    elif channel == "open311":
        reporter = ReporterIn(name="随手拍用户", external_id=f"open311-{st.n:05d}")
        text = f"{cls.problem}（随手拍）"
    elif channel == "grid":
        text = f"网格员巡查发现：{cls.problem}"
    return ReportIn(
        category=st.category,
        location=LocationIn(lng=lng, lat=lat, crs="wgs84"),
        address=address,
        description=text,
        reporter=reporter,
        hotline=hotline,
        reported_at=at,
    )


def _steps(st: Story, cls: data.Cls, rnd: random.Random) -> list[tuple[str, dict, int]]:
    """(action or photo:<stage>, the action's body, working days after the step before) for the story."""
    reg = [("register", {}, rnd.choice((0, 0, 1)))]
    dispatch = [("dispatch", {}, rnd.choice((0, 0, 1)))]
    accept = [("accept", {}, rnd.choice((0, 1)))]
    if rnd.random() < 0.3:  # some departments take a photo before they start
        accept.append(("photo:before", {}, 0))
    late = rnd.random() < 0.15
    work = cls.handle_days + rnd.randint(1, 3) if late else rnd.randint(0, max(cls.handle_days - 1, 0))
    feedback = [("photo:after", {}, work), ("feedback", {"note": "已按结案标准处置完毕"}, 0)]
    verify = [("verify", {"note": "现场核查符合结案标准"}, rnd.choice((0, 1)))]
    evaluation = rnd.choice(("excellent", "excellent", "good", "good", "good", "poor"))
    evaluate = [("evaluate", {"evaluation": evaluation}, rnd.choice((0, 1, 2)))]
    reject = [("reject", {"reason": rnd.choice(data.REJECT_REASONS)}, 1)]
    s = st.state
    if s == "reported":
        return []
    if s == "cancelled":
        return [("cancel", {"reason": rnd.choice(data.CANCEL_REASONS)}, rnd.choice((0, 1)))]
    if s in ("registered", "overdue_registered"):
        return reg
    if s == "dispatched":
        return reg + dispatch
    if s in ("handling", "overdue"):
        return reg + dispatch + accept
    if s == "handled":
        return reg + dispatch + accept + feedback
    if s == "returned":
        return reg + dispatch + [("return", {"reason": rnd.choice(data.RETURN_REASONS)}, rnd.choice((0, 1)))]
    if s == "disputed":
        return reg + dispatch + accept + [("dispute", {"reason": rnd.choice(data.DISPUTE_REASONS)}, 1)]
    if s == "rework":
        return reg + dispatch + accept + feedback + reject
    if s.startswith("extension"):
        ask = [("extend", {"days": rnd.choice((2, 3, 5)), "reason": "需协调产权单位，申请延期"}, 1)]
        if s == "extension_pending":
            return reg + dispatch + accept + ask
        decide = [
            (
                "extend",
                {
                    "approve": s == "extension_granted",
                    "reason": "同意延期" if s == "extension_granted" else "时限内可以完成，不同意延期",
                },
                0,
            )
        ]
        return reg + dispatch + accept + ask + decide
    closing = reg + dispatch + accept + feedback
    if s == "reworked_closed":
        closing += reject + [("accept", {}, 0), ("photo:after", {}, 1), ("feedback", {"note": "已返工"}, 0)]
    closing += verify
    if s in ("evaluated", "reworked_closed"):
        closing += evaluate
    if st.channel == "hotline" and s in ("closed", "evaluated", "reworked_closed") and rnd.random() < 0.8:
        score = rnd.choice((5, 5, 5, 4, 4, 3, 2))
        closing += [("callback", {"satisfaction": score, "note": rnd.choice(data.CALLBACK_NOTES)}, 1)]
    return closing


def _play(
    uow: UnitOfWork,
    st: Story,
    specs: list[GridSpec],
    today: dt.date,
    orgs: dict[str, Any],
    citizen: Actor | None,
) -> None:
    rnd = random.Random(st.seed)
    day = today - dt.timedelta(days=st.days_ago)
    at = dt.datetime.combine(day, dt.time(st.minute // 60, st.minute % 60), ZONE).astimezone(dt.UTC)
    at = min(at, utcnow() - dt.timedelta(minutes=5))
    spec = specs[st.grid]
    body = _report_in(st, spec, at, st.channel, rnd)
    reporter_uow = uow
    if st.channel == "app" and citizen is not None:
        # the citizen reports (and so follows the case) in the same transaction as the demo's steps
        reporter_uow = UnitOfWork(session=uow.session, actor=citizen, secret=uow.secret)
    out = intake.report(reporter_uow, body, channel=st.channel, today=day, idempotency_key=st.key)
    if reporter_uow is not uow:  # its audit records are written with the transaction's
        reporter_uow.settle()
        uow.entries.extend(reporter_uow.entries)
        uow.audited += reporter_uow.audited
    if out.merged:  # it met an earlier story's open case: that story's steps are enough
        return
    if st.duplicate:
        again = _report_in(st, spec, at + dt.timedelta(hours=rnd.randint(1, 5)), st.duplicate, rnd)
        again.location.lng += 0.0001  # about 10 m east
        intake.report(uow, again, channel=st.duplicate, today=day, idempotency_key=st.key + "-dup")
    if st.channel in ("grid", "drone", "video"):  # grid workers' photos, the detections' frames
        photos.add(uow, out.case_id, "report", io.BytesIO(PHOTOS["report"]), "report.png", MAX_PHOTO)
    cls = next(c for c in data.CLASSES if categories.key_of(c.kind, c.code) == st.category)
    on = day
    for action, args, after in _steps(st, cls, rnd):
        on = min(on + dt.timedelta(days=after), today)
        if action.startswith("photo:"):
            stage = action.split(":")[1]
            photos.add(uow, out.case_id, stage, io.BytesIO(PHOTOS[stage]), f"{stage}.png", MAX_PHOTO)
            continue
        loop.step(uow, out.case_id, action, ActionIn(**args), on)


def _done(db: Database) -> set[str]:
    with db.read() as s:
        tokens = s.scalars(select(Reporter.client_token).where(Reporter.client_token.like(f"%|{KEY}%")))
        return {t.split("|", 1)[1] for t in tokens if t}
