"""JSON routes of city operations cases under /api/v1/cityops: intake (one report, idempotent), photos, the
case list and one case with its timeline, the loop's actions, comments and follows.

Routes declare `self` (any signed-in user or system) and check the object: reporting needs cityops.intake
(any channel) or cityops.report (a citizen, through the app); each action its permission over the case's
grid or department (loop.ACTORS); reading cityops.read, or being a reporter or follower of the case."""

from __future__ import annotations

from fastapi import APIRouter, File, Form, Header, Path, Query, Response, UploadFile

from zhicheng.cityops import case_queries as q
from zhicheng.cityops import intake, loop, photos, vocab
from zhicheng.cityops.permissions import CITYOPS_READ, COMMAND, INTAKE, REPORT, SUPERVISE
from zhicheng.cityops.schemas import ActionIn, CaseDetail, CasePage, CommentIn, PhotoOut, ReportIn, ReportOut
from zhicheng.core import paging
from zhicheng.core.auth import permissions as P
from zhicheng.core.auth.principal import Principal
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Forbidden, Invalid
from zhicheng.core.geo import crs as C
from zhicheng.web.deps import DB, Conf, Me, Reader
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/cityops", tags=["cityops"])
CRS = Query(None, description="coordinates in answers: wgs84 (default) | cgcs2000 | gcj02 | bd09")
ACTION = Path(
    description="register | cancel | dispatch | accept | feedback | verify | reject | evaluate | "
    "return | dispute | extend | callback"
)


def _staff(me: Principal) -> bool:
    return me.can(CITYOPS_READ)


def _personal(me: Principal) -> bool:
    return any(me.can(p) for p in (INTAKE, SUPERVISE, COMMAND))


def _user(me: Principal) -> int | None:
    return me.actor.user_id if me.actor.kind == "user" else None


@router.post("/reports", response_model=ReportOut, status_code=201)
@access(P.SELF)
def report(
    body: ReportIn,
    response: Response,
    db: DB,
    me: Me,
    conf: Conf,
    channel: str | None = Query(None, description="hotline | grid | sensor | drone | video | open311 | app"),
    idempotency_key: str | None = Header(
        None, min_length=8, max_length=80, description="a retry: same answer"
    ),
) -> dict:
    """One report from any channel: 201 with the case it opened, or 200 with `merged` when it joined an open
    case of the same category nearby; a retry with the same Idempotency-Key answers the first result again
    (`replayed`). 422 for a point outside every grid, an unknown category or coordinate system."""
    if me.can(INTAKE):
        if channel is None:
            raise Invalid("请注明上报渠道 channel", "name the channel")
    elif me.can(REPORT):
        if channel not in (None, "app"):
            raise Forbidden("市民只能通过 App 渠道上报", "citizens report through the app channel")
        channel = "app"
    else:
        raise Forbidden("无权上报城市管理问题", "no permission to report")
    with unit_of_work(db, me.actor) as uow:
        out = intake.report(
            uow, body, channel=channel, rules=intake.Rules.of(conf), idempotency_key=idempotency_key
        )
    if out.merged or out.replayed:
        response.status_code = 200
    return out.shown()


@router.post("/reports/{case_id}/photos", response_model=PhotoOut, status_code=201)
@access(P.SELF)
def add_photo(
    case_id: int,
    db: DB,
    me: Me,
    conf: Conf,
    file: UploadFile = File(..., description="JPEG, PNG or WebP"),
    stage: str = Form("report", description="report | before | after"),
) -> dict:
    """A photo of a case: `report` by an intake channel or the case's citizen reporter, `before` / `after` by
    the department handling it (after photos are what feedback needs)."""
    if stage not in vocab.PHOTO_STAGES:
        raise Invalid("照片类别应为 report、before 或 after", "stage must be report, before or after")
    with unit_of_work(db, me.actor) as uow:
        case = loop.load(uow, case_id)
        if stage == "report":
            if not (me.can(INTAKE) or q.is_follower(uow.session, case_id, _user(me))):
                raise Forbidden("无权为该案卷上传照片", "no permission to add photos to this case")
        else:
            path = loop._path(uow, case.department_id)
            if path is None or not me.can(loop.HANDLE, path):
                raise Forbidden(
                    "只有承办部门可以上传处置照片", "only the handling department adds these photos"
                )
        max_bytes = int(conf.cityops_photo_max_mb * 1024 * 1024)
        p = photos.add(uow, case_id, stage, file.file, file.filename or "", max_bytes)
        return {k: getattr(p, k) for k in ("id", "stage", "media_type", "size", "sm3", "added_at")}


@router.get("/cases", response_model=CasePage)
@access(P.SELF)
def list_cases(
    s: Reader,
    me: Me,
    status: str | None = None,
    category: str | None = Query(None, description="<kind>:<code>"),
    department: int | None = None,
    grid: str | None = Query(None, description="15-digit grid code"),
    division: str | None = None,
    overdue: bool | None = None,
    mine: bool = Query(False, description="only the cases I reported or follow"),
    crs: str | None = CRS,
    limit: int = 50,
    cursor: str | None = None,
) -> dict:
    """Newest first; staff (cityops.read) see every case, a citizen the cases they reported or follow."""
    if not _staff(me) and not me.can(REPORT):
        raise Forbidden("无权查看案卷", "no access to cases")
    C.system(crs)
    follower = _user(me) if (mine or not _staff(me)) else None
    if follower is None and not _staff(me):
        raise Forbidden("无权查看案卷", "no access to cases")
    today = shanghai_today()
    rows = q.cases(
        s,
        today,
        status=status,
        category=category,
        department=department,
        grid=grid,
        division=division,
        is_overdue=overdue,
        follower=follower,
        limit=paging.check_limit(limit) + 1,
        after=paging.decode_id(cursor),
    )
    items, next_cursor = paging.page(rows, limit, lambda r: r[0].id)
    return {"items": [q.shown(r, today, crs) for r in items], "next_cursor": next_cursor}


@router.get("/cases/{case_id}", response_model=CaseDetail)
@access(P.SELF)
def get_case(case_id: int, s: Reader, me: Me, crs: str | None = CRS) -> dict:
    q.one(s, case_id)
    q.require_view(s, case_id, _staff(me), _user(me))
    return q.detail(s, case_id, shanghai_today(), crs, _staff(me), _personal(me), _user(me))


@router.get("/cases/{case_id}/photos/{photo_id}")
@access(P.SELF)
def photo(case_id: int, photo_id: int, s: Reader, me: Me) -> Response:
    q.one(s, case_id)
    q.require_view(s, case_id, _staff(me), _user(me))
    data, media = photos.content(s, case_id, photo_id)
    return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=86400"})


@router.post("/cases/{case_id}/comments", response_model=CaseDetail, status_code=201)
@access(P.SELF)
def add_comment(case_id: int, body: CommentIn, db: DB, me: Me, crs: str | None = CRS) -> dict:
    """A comment on the timeline, by staff or by a reporter or follower of the case; followers are told."""
    with unit_of_work(db, me.actor) as uow:
        q.one(uow.session, case_id)
        q.require_view(uow.session, case_id, _staff(me), _user(me))
        loop.comment(uow, case_id, body.text)
    with db.read() as s:
        return q.detail(s, case_id, shanghai_today(), crs, _staff(me), _personal(me), _user(me))


@router.put("/cases/{case_id}/follow", status_code=204)
@access(P.SELF)
def follow(case_id: int, db: DB, me: Me) -> None:
    """Follow a case (told of every public change): staff, or a citizen who reported it."""
    _follow(case_id, db, me, True)


@router.delete("/cases/{case_id}/follow", status_code=204)
@access(P.SELF)
def unfollow(case_id: int, db: DB, me: Me) -> None:
    _follow(case_id, db, me, False)


def _follow(case_id: int, db: DB, me: Principal, on: bool) -> None:
    user = _user(me)
    if user is None:
        raise Forbidden("只有登录用户可以关注案卷", "only signed-in users follow cases")
    with unit_of_work(db, me.actor) as uow:
        q.one(uow.session, case_id)
        q.require_view(uow.session, case_id, _staff(me), user)
        loop.follow(uow, case_id, user, on)


@router.post("/cases/{case_id}/{action}", response_model=CaseDetail)
@access(P.SELF)
def act(case_id: int, body: ActionIn, db: DB, me: Me, action: str = ACTION, crs: str | None = CRS) -> dict:
    """One step of the loop; 403 when the caller does not hold its permission over the case's grid (centres)
    or department, 409 when the case's status does not allow it."""
    today = shanghai_today()
    with unit_of_work(db, me.actor) as uow:
        loop.step(uow, case_id, action, body, today, me.can)
    with db.read() as s:
        return q.detail(s, case_id, today, crs, _staff(me), _personal(me), _user(me))
