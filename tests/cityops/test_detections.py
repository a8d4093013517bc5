"""Drone and video-AI detections: a case with the image as its report photo; merges and idempotent retries;
refused when the confidence is low, the image too large or not an image, the point outside the city; who
may send them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.cityops.conftest import JPEG, PNG, SHED, centre
from zhicheng.cityops.models import Case, Photo, Reporter
from zhicheng.core.geo import crs as C

URL = "/api/v1/cityops/detections"


def _meta(**kw: object) -> dict:
    lng, lat = centre(2, 2)
    return {
        "source": "drone",
        "device_id": "UAV-07",
        "category": SHED,
        "confidence": 0.91,
        "location": {"lng": lng, "lat": lat},
        "observed_at": "2026-11-20T10:00:00+08:00",
        "label": "illegal_structure",
        **kw,
    }


def _send(c, meta: dict, image: bytes = JPEG, name: str = "frame.jpg"):  # noqa: ANN001, ANN202
    return c.send(
        "POST", URL, data={"metadata": json.dumps(meta)}, files={"image": (name, image, "image/jpeg")}
    )


def _count(db, model) -> int:  # noqa: ANN001
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_detection_becomes_a_case_with_its_photo(db, city, as_user) -> None:  # noqa: ANN001
    agent = as_user("agent")
    r = _send(agent, _meta(detection_id="D-1"))
    assert r.status_code == 201, r.text
    out = r.json()
    with db.read() as s:
        case = s.get(Case, out["case_id"])
        assert (
            case.channel == "drone" and "illegal_structure" in case.description and "0.91" in case.description
        )
        photo = s.get(Photo, out["photo_id"])
        assert (photo.case_id, photo.stage, photo.media_type) == (case.id, "report", "image/jpeg")
        assert s.scalar(select(Reporter.external_id).where(Reporter.case_id == case.id)) == "UAV-07"
    # the photo is served like any case photo
    got = agent.get(f"/api/v1/cityops/cases/{case.id}/photos/{photo.id}")
    assert got.status_code == 200 and got.content == JPEG
    # the same detection sent again: the first answer, nothing stored
    again = _send(agent, _meta(detection_id="D-1"))
    assert again.status_code == 200 and again.json()["replayed"] and again.json()["photo_id"] is None
    assert _count(db, Photo) == 1
    # a camera sees the same shed (GCJ-02 point, PNG frame): merged, with its photo
    lng, lat = C.convert(*centre(2, 2), "wgs84", "gcj02")
    video = _meta(source="video", device_id="CAM-3", location={"lng": lng, "lat": lat, "crs": "gcj02"})
    r = _send(agent, video, PNG, "cam.png")
    assert r.status_code == 200 and r.json()["merged"] and r.json()["case_id"] == case.id
    with db.read() as s:
        assert (
            s.get(Case, case.id).report_count == 2
            and s.get(Photo, r.json()["photo_id"]).media_type == "image/png"
        )


@pytest.mark.parametrize(
    ("meta", "image", "message"),
    [
        (_meta(confidence=0.59), JPEG, "below 0.6"),
        (_meta(), b"GIF89a" + b"\x00" * 50, "JPEG, PNG or WebP"),
        (_meta(), b"", "empty"),
        (_meta(location={"lng": 116.4, "lat": 39.9}), JPEG, "outside the city"),
        (_meta(category="event:9999"), JPEG, "unknown category"),
        (_meta(observed_at="2026-11-20T10:00:00"), JPEG, "time zone"),
        (_meta(source="balloon"), JPEG, "invalid detection metadata"),
        (_meta(confidence=1.5), JPEG, "invalid detection metadata"),
    ],
)
def test_refused_and_nothing_stored(db, city, as_user, meta, image, message) -> None:  # noqa: ANN001
    r = _send(as_user("agent"), meta, image)
    assert r.status_code == 422 and message in r.text, r.text
    assert _count(db, Case) == 0 and _count(db, Photo) == 0


def test_oversize_image(db, city, as_user, app) -> None:  # noqa: ANN001
    app.state.settings.cityops_photo_max_mb = 0.001  # about 1 KB
    r = _send(as_user("agent"), _meta(), JPEG + b"\x00" * 2000)
    assert r.status_code == 422 and "larger than" in r.text
    assert _count(db, Case) == 0


def test_the_confidence_setting(db, city, as_user, app) -> None:  # noqa: ANN001
    app.state.settings.cityops_detection_min_confidence = 0.95
    assert _send(as_user("agent"), _meta(confidence=0.91)).status_code == 422
    app.state.settings.cityops_detection_min_confidence = 0.5
    assert _send(as_user("agent"), _meta(confidence=0.51)).status_code == 201


def test_who_may_send(db, city, as_user) -> None:  # noqa: ANN001
    for name in ("clerk", "outsider", "citizen", "handler"):
        assert _send(as_user(name), _meta()).status_code == 403, name
    assert _count(db, Case) == 0
