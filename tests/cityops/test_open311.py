"""Open311 GeoReport v2 at /open311/v2: a real GeoReport client (the `georeport` package from PyPI) reads
services, definitions and requests from a live server in JSON and XML; raw HTTP covers what it cannot (it
has no POST, nor tokens): form-encoded and JSON posts, duplicates, tokens, the api_key, coordinates outside
the city, unknown service codes, oversized fields, and errors in the Open311 format of the client's
extension. GET answers carry no personal data."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from georeport import GeoReport
from requests import HTTPError

from tests import personas
from tests.cityops.conftest import JPEG, MANHOLE, ME, SHED, centre, report_body
from zhicheng.cityops import intake, loop, open311
from zhicheng.cityops.models import Case, CaseEvent, Photo, Reporter
from zhicheng.cityops.schemas import ActionIn, ReportIn
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import TokenIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work
from zhicheng.core.geo import crs as C

BASE = "/open311/v2"
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
PERSON = {
    "first_name": "小明",
    "last_name": "王",
    "email": "wangxm@example.cn",
    "phone": "13912345678",
    "device_id": "DEVICE-7788",
    "account_id": "acct-4455",
}


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    """An Open311 app asking for English (errors are checked by their words); Chinese where asked."""
    with TestClient(app, raise_server_exceptions=False, headers={"Accept-Language": "en"}) as c:
        yield c


ZH = {"Accept-Language": "zh"}


@pytest.fixture
def keys(db, city) -> dict[str, str]:  # noqa: ANN001
    """A channel's key (cityops_channel) and a key whose roles carry no intake."""
    w = personas.WORLD
    with unit_of_work(db, ME) as uow:
        _, channel = auth.create_token(
            uow, TokenIn(name="open311-gateway", org_id=w.city, roles=["cityops_channel"])
        )
        _, reader = auth.create_token(uow, TokenIn(name="reader", org_id=w.city, roles=["city_reporter"]))
    return {"channel": channel, "reader": reader}


def post(client: TestClient, key: str | None, fmt: str = "json", headers: Any = None, **fields: Any):  # noqa: ANN201
    x, y = centre(2, 2)
    data = {"service_code": SHED, "lat": str(y), "long": str(x), "description": "路边搭建了棚子", **fields}
    if key is not None:
        data["api_key"] = key
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"{BASE}/requests.{fmt}", data=data, headers=headers)


def xml_doc(resp) -> ET.Element:  # noqa: ANN001
    assert resp.headers["content-type"].startswith("text/xml"), resp.headers["content-type"]
    assert resp.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(resp.content)


def assert_error(resp, status: int, fmt: str, words: str) -> None:  # noqa: ANN001
    """The Open311 error: the status, one error with its code and a description; never problem+json."""
    assert resp.status_code == status, resp.text
    assert "problem" not in resp.headers["content-type"]
    if fmt == "json":
        assert resp.headers["content-type"].startswith("application/json")
        body = resp.json()
        assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {"code", "description"}
        assert body[0]["code"] == status and words.lower() in body[0]["description"].lower()
    else:
        root = xml_doc(resp)
        assert root.tag == "errors" and [e.tag for e in root] == ["error"]
        assert [c.tag for c in root[0]] == ["code", "description"]
        assert root[0].findtext("code") == str(status)
        assert words.lower() in root[0].findtext("description").lower()


# --- services ------------------------------------------------------------------------------------------
def test_services_in_json_and_xml(client, city) -> None:  # noqa: ANN001
    listed = client.get(f"{BASE}/services.json")
    assert listed.status_code == 200 and listed.headers["content-type"].startswith("application/json")
    services = {s["service_code"]: s for s in listed.json()}
    assert set(services) == {MANHOLE, SHED}
    shed = services[SHED]
    assert set(shed) == SERVICE_FIELDS
    assert shed["service_name"] == "私搭乱建" and shed["group"] == "市容环境" and shed["type"] == "realtime"
    assert shed["metadata"] is True and "私搭乱建" in shed["keywords"] and "事件" in shed["description"]
    root = xml_doc(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services" and {e.tag for e in root} == {"service"}
    by_code = {e.findtext("service_code"): e for e in root}
    assert set(by_code) == {MANHOLE, SHED}
    manhole = by_code[MANHOLE]
    assert {c.tag for c in manhole} == SERVICE_FIELDS
    assert manhole.findtext("service_name") == "上水井盖" and manhole.findtext("group") == "公用设施"
    assert manhole.findtext("metadata") == "true" and manhole.findtext("type") == "realtime"


def test_service_definition_and_unknown_code(client, city) -> None:  # noqa: ANN001
    d = client.get(f"{BASE}/services/{SHED}.json").json()
    assert d["service_code"] == SHED and len(d["attributes"]) == 1
    attr = d["attributes"][0]
    assert attr["variable"] is False and attr["required"] is False and attr["datatype"] == "text"
    assert attr["code"] == "closing_standard" and "违建拆除" in attr["description"] and attr["order"] == 1
    root = xml_doc(client.get(f"{BASE}/services/{MANHOLE}.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == MANHOLE
    attrs = root.find("attributes")
    assert [a.tag for a in attrs] == ["attribute"] and attrs[0].findtext("variable") == "false"
    assert "井盖完好" in attrs[0].findtext("description")
    assert_error(client.get(f"{BASE}/services/event:9999.json"), 404, "json", "service_code")
    assert_error(client.get(f"{BASE}/services/nonsense.xml"), 404, "xml", "service_code")
    assert_error(client.get(f"{BASE}/services.html"), 404, "json", "format")


def test_discovery(client, city) -> None:  # noqa: ANN001
    doc = client.get(f"{BASE}/discovery.json").json()
    endpoint = doc["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and "text/xml" in endpoint["formats"]
    root = xml_doc(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery" and root.findtext("contact")
    formats = [f.text for f in root.find("endpoints/endpoint/formats")]
    assert formats == ["application/json", "text/xml"]


# --- POST ----------------------------------------------------------------------------------------------
def test_post_form_then_read_back_without_personal_data(client, db, city, keys) -> None:  # noqa: ANN001
    r = post(client, keys["channel"], "json", ZH, address_string="玄武区梅园新村 12 号", **PERSON)
    assert r.status_code == 200, r.text
    [created] = r.json()
    assert set(created) == {"service_request_id", "token", "service_notice", "account_id"}
    number = created["service_request_id"]
    assert created["account_id"] is None and number in created["service_notice"]
    with db.read() as s:
        case = s.get(Case, int(number.split("-")[1]))
        reporter = s.query(Reporter).filter_by(case_id=case.id).one()
    assert case.channel == "open311" and case.number == number and case.address == "玄武区梅园新村 12 号"
    assert reporter.name == "王小明" and reporter.phone == "13912345678"
    assert reporter.external_id == "account:acct-4455" and reporter.actor.endswith("open311-gateway")

    one = client.get(f"{BASE}/requests/{number}.json")
    assert one.status_code == 200
    [req] = one.json()
    assert set(req) == REQUEST_FIELDS
    x, y = centre(2, 2)
    assert req["service_request_id"] == number and req["status"] == "open" and req["service_code"] == SHED
    assert req["service_name"] == "私搭乱建" and req["description"] == "路边搭建了棚子"
    assert req["agency_responsible"] == "玄武区城市管理局"  # the routing rule's department
    assert req["lat"] == pytest.approx(y) and req["long"] == pytest.approx(x)
    assert req["requested_datetime"].endswith("+08:00") and req["expected_datetime"] is None
    assert dt.datetime.fromisoformat(req["updated_datetime"]).tzinfo is not None
    root = xml_doc(client.get(f"{BASE}/requests/{number}.xml"))
    assert root.tag == "service_requests" and [e.tag for e in root] == ["request"]
    assert {c.tag for c in root[0]} == REQUEST_FIELDS
    assert root[0].findtext("service_request_id") == number and root[0].findtext("status") == "open"
    assert float(root[0].findtext("lat")) == pytest.approx(y)
    for text in (one.text, client.get(f"{BASE}/requests.json").text, client.get(f"{BASE}/requests.xml").text):
        for value in PERSON.values():
            assert value not in text
        assert "王小明" not in text


def test_post_json_answers_xml_and_duplicates_merge(client, db, city, keys) -> None:  # noqa: ANN001
    x, y = centre(3, 3)
    body = {
        "api_key": keys["channel"],
        "service_code": MANHOLE,
        "lat": y,
        "long": x,
        "description": "井盖缺失",
    }
    first = client.post(f"{BASE}/requests.xml", json=body)
    assert first.status_code == 200, first.text
    root = xml_doc(first)
    assert root.tag == "service_requests" and [c.tag for c in root[0]] == [
        "service_request_id",
        "token",
        "service_notice",
        "account_id",
    ]
    number = root[0].findtext("service_request_id")
    assert root[0].find("account_id").text is None
    # 20 m away, the same class, within the window: the same case answers
    again = client.post(f"{BASE}/requests.json", json={**body, "lat": y + 0.00018, "description": "又一个"})
    [merged] = again.json()
    assert merged["service_request_id"] == number and "joined" in merged["service_notice"]
    chinese = client.post(f"{BASE}/requests.json", json=body, headers=ZH)
    assert "合并" in chinese.json()[0]["service_notice"]
    with db.read() as s:
        case = s.get(Case, int(number.split("-")[1]))
        assert case.report_count == 3 and case.routed_department_id == city["street"]
    # another class at the same place is another case
    other = client.post(f"{BASE}/requests.json", json={**body, "service_code": SHED}).json()[0]
    assert other["service_request_id"] != number


def test_tokens_answer_the_request_they_were_given_for(client, db, city, keys) -> None:  # noqa: ANN001
    x, y = centre(1, 4)
    body = {"api_key": keys["channel"], "service_code": SHED, "lat": y, "long": x, **PERSON}
    [first] = client.post(f"{BASE}/requests.json", json=body).json()
    number, token = first["service_request_id"], first["token"]
    # a duplicate joins the case: the same service_request_id, a token of its own (it names the report)
    [again] = client.post(f"{BASE}/requests.json", json={**body, "lat": y + 0.0001}).json()
    assert again["service_request_id"] == number and again["token"] != token
    # nothing the reporter gave shows in it
    assert all(value not in token for value in (*PERSON.values(), number))

    [found] = client.get(f"{BASE}/tokens/{token}.json").json()
    assert found == {"service_request_id": number, "token": token}
    root = xml_doc(client.get(f"{BASE}/tokens/{again['token']}.xml"))
    assert root.tag == "service_requests" and [e.tag for e in root] == ["request"]
    assert [(c.tag, c.text) for c in root[0]] == [("service_request_id", number), ("token", again["token"])]
    # the case moves on through the loop: the token still answers it
    with unit_of_work(db, ME) as uow:
        loop.step(uow, int(number.split("-")[1]), "register", ActionIn(), shanghai_today())
    assert client.get(f"{BASE}/tokens/{token}.json").json()[0]["service_request_id"] == number

    # a retry (Idempotency-Key) answers the same token
    h = {"Idempotency-Key": "open311-token-retry"}
    a = client.post(f"{BASE}/requests.xml", json={**body, "service_code": MANHOLE}, headers=h)
    b = client.post(f"{BASE}/requests.xml", json={**body, "service_code": MANHOLE}, headers=h)
    assert xml_doc(a)[0].findtext("token") == xml_doc(b)[0].findtext("token")

    # unknown, forged or malformed tokens are the spec's 404, in the client's format
    rid, mac = token.split("-")
    assert_error(client.get(f"{BASE}/tokens/{rid}-{'0' * 20}.json"), 404, "json", "token")
    assert_error(client.get(f"{BASE}/tokens/{int(rid) + 1}-{mac}.xml"), 404, "xml", "token")
    no_report = open311.token(db.secret, 10**12)  # signed right, but no such report
    assert_error(client.get(f"{BASE}/tokens/{no_report}.json"), 404, "json", "token")
    assert_error(client.get(f"{BASE}/tokens/{number}.xml"), 404, "xml", "token")
    assert_error(client.get(f"{BASE}/tokens/{token}.html"), 404, "json", "format")
    # a report from another channel has no token, even one signed right
    with unit_of_work(db, ME) as uow:
        hotline = intake.report(uow, ReportIn(**report_body(lng=x, lat=y)), channel="hotline")
    signed = open311.token(db.secret, hotline.reporter_id)
    assert_error(client.get(f"{BASE}/tokens/{signed}.json"), 404, "json", "token")


def test_api_key_refusals(client, city, keys) -> None:  # noqa: ANN001
    assert_error(post(client, None), 403, "json", "api_key")
    assert_error(post(client, "zc_nope_nope", "xml"), 403, "xml", "api_key")
    assert_error(post(client, keys["reader"]), 403, "json", "api_key")
    # a bad Bearer header is refused in the Open311 format too, even on the public GETs
    bad = client.get(f"{BASE}/services.xml", headers={"Authorization": "Bearer zc_x_y"})
    assert_error(bad, 403, "xml", "")
    # the channel's token as a Bearer header is accepted in place of api_key
    ok = post(TestClient(client.app, headers={"Authorization": f"Bearer {keys['channel']}"}), None)
    assert ok.status_code == 200, ok.text


def test_malformed_posts(client, city, keys) -> None:  # noqa: ANN001
    key = keys["channel"]
    address_only = post(client, key, "xml", ZH, lat=None, long=None, address_string="玄武区梅园新村")
    assert "坐标" in address_only.text
    address_only = post(client, key, "xml", lat=None, long=None, address_string="玄武区梅园新村")
    assert_error(address_only, 400, "xml", "lat and long")
    assert_error(post(client, key, lat=None), 400, "json", "lat")
    assert_error(post(client, key, lat="north"), 400, "json", "lat")
    assert_error(post(client, key, lat="nan"), 400, "json", "lat")
    assert_error(post(client, key, lat="91"), 400, "json", "")
    beijing = post(client, key, "xml", ZH, lat="39.9", long="116.4")
    assert_error(beijing, 400, "xml", "")
    assert "不在本市" in beijing.text
    assert_error(post(client, key, lat="39.9", long="116.4"), 400, "json", "outside the city")
    assert_error(post(client, key, service_code="event:9999"), 404, "json", "service_code")
    assert_error(post(client, key, "xml", service_code=None), 400, "xml", "service_code")
    assert_error(post(client, key, description="长" * 4001), 400, "json", "description")
    assert_error(post(client, key, first_name="名" * 31), 400, "json", "first_name")
    assert_error(post(client, key, media_url="javascript:alert(1)"), 400, "json", "media_url")
    assert_error(post(client, key, crs="mars2"), 400, "json", "coordinate system")
    broken = client.post(
        f"{BASE}/requests.json", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(broken, 400, "json", "JSON")
    assert_error(client.post(f"{BASE}/requests.xml", json=[1, 2]), 400, "xml", "")
    assert_error(
        client.post(f"{BASE}/requests.json", json={"api_key": key, "lat": {"x": 1}}), 400, "json", ""
    )
    # routing errors are Open311 errors too: an unknown resource, a method the resource does not take
    assert_error(client.get(f"{BASE}/nothing.xml"), 404, "xml", "")
    assert_error(client.delete(f"{BASE}/requests.json"), 405, "json", "")


def test_form_bodies_are_utf8_percent_encoded_or_raw(client, db, city, keys) -> None:  # noqa: ANN001
    """Browsers percent-encode a form; `curl -d` and some apps send the Chinese text as raw UTF-8 bytes. Both
    read back as written (two grids apart, so neither merges into the other); bytes that are not UTF-8 are
    refused in the client's format."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def fields(col: int, row: int) -> bytes:
        x, y = centre(col, row)
        return f"api_key={keys['channel']}&service_code={SHED}&lat={y}&long={x}&description=".encode()

    for body, text in (
        (fields(2, 2) + "路边搭建了棚子".encode(), "路边搭建了棚子"),
        (fields(4, 1) + b"%E8%B7%AF%E8%BE%B9+%E6%A3%9A", "路边 棚"),
    ):
        r = client.post(f"{BASE}/requests.json", content=body, headers=form)
        assert r.status_code == 200, r.text
        [req] = client.get(f"{BASE}/requests/{r.json()[0]['service_request_id']}.json").json()
        assert req["description"] == text
    bad = client.post(f"{BASE}/requests.xml", content=fields(1, 3) + "棚子".encode("gbk"), headers=form)
    assert_error(bad, 400, "xml", "UTF-8")
    plain = client.post(f"{BASE}/requests.json", content=fields(1, 3), headers={"Content-Type": "text/plain"})
    assert_error(plain, 400, "json", "form-encoded")


def test_crs_extension_media_url_photo_and_retry(client, db, city, keys) -> None:  # noqa: ANN001
    x, y = centre(4, 1)
    gx, gy = C.convert(x, y, "wgs84", "gcj02")
    url = "https://img.example.cn/a.jpg"
    r = post(
        client,
        keys["channel"],
        lat=str(gy),
        long=str(gx),
        crs="gcj02",
        media_url=url,
        service_code=MANHOLE,
    )
    number = r.json()[0]["service_request_id"]
    with db.read() as s:
        case = s.get(Case, int(number.split("-")[1]))
        assert case.lng == pytest.approx(x, abs=1e-7) and case.lat == pytest.approx(y, abs=1e-7)
        events = s.query(CaseEvent).filter_by(case_id=case.id, kind="photo").all()
        assert [e.data["media_url"] for e in events] == [url]
    [req] = client.get(f"{BASE}/requests/{number}.json").json()
    assert req["media_url"] == url and req["long"] == pytest.approx(x)
    [gcj] = client.get(f"{BASE}/requests/{number}.json", params={"crs": "gcj02"}).json()
    assert gcj["long"] == pytest.approx(gx, abs=1e-7) and gcj["lat"] == pytest.approx(gy, abs=1e-7)
    # multipart with a photo: stored as the case's report photo
    fields = {"api_key": keys["channel"], "service_code": SHED, "lat": str(y), "long": str(x)}
    m = client.post(f"{BASE}/requests.json", data=fields, files={"media": ("p.jpg", JPEG, "image/jpeg")})
    assert m.status_code == 200, m.text
    case_id = int(m.json()[0]["service_request_id"].split("-")[1])
    with db.read() as s:
        assert [p.stage for p in s.query(Photo).filter_by(case_id=case_id)] == ["report"]
    # a retry with the same Idempotency-Key answers the same request and adds no reporter
    h = {"Idempotency-Key": "open311-retry-1"}
    with db.read() as s:
        before = s.query(Reporter).count()
    a = client.post(f"{BASE}/requests.json", data={**fields, "service_code": MANHOLE}, headers=h).json()
    b = client.post(f"{BASE}/requests.json", data={**fields, "service_code": MANHOLE}, headers=h).json()
    assert a[0]["service_request_id"] == b[0]["service_request_id"] == number  # it joined the first one
    with db.read() as s:
        assert s.query(Reporter).count() == before + 1


# --- GET requests ----------------------------------------------------------------------------------------
def test_request_list_filters(client, db, city, keys) -> None:  # noqa: ANN001
    numbers = []
    for row, code in ((0, SHED), (1, SHED), (2, MANHOLE)):
        x, y = centre(row, 5)
        r = post(client, keys["channel"], lat=str(y), long=str(x), service_code=code)
        numbers.append(r.json()[0]["service_request_id"])
    with unit_of_work(db, ME) as uow:
        loop.step(uow, int(numbers[0].split("-")[1]), "cancel", ActionIn(reason="重复上报"), shanghai_today())
        loop.step(uow, int(numbers[1].split("-")[1]), "register", ActionIn(), shanghai_today())

    def ids(fmt: str = "json", **params: str) -> list[str]:
        r = client.get(f"{BASE}/requests.{fmt}", params=params)
        assert r.status_code == 200, r.text
        if fmt == "xml":
            root = xml_doc(r)
            assert root.tag == "service_requests"
            return [e.findtext("service_request_id") for e in root]
        return [e["service_request_id"] for e in r.json()]

    assert ids() == numbers[::-1] == ids("xml")  # newest first
    assert ids(status="closed") == [numbers[0]] == ids("xml", status="closed")
    assert ids(status="open") == numbers[:0:-1]
    assert ids(status="open,closed") == numbers[::-1]
    assert ids(service_code=MANHOLE) == [numbers[2]]
    assert ids(service_code=f"{MANHOLE},{SHED}") == numbers[::-1]
    assert ids(service_request_id=f"{numbers[0]},{numbers[2]},20200101-999999") == [numbers[2], numbers[0]]
    past = {"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-02-01T00:00:00+08:00"}
    assert ids(**past) == [] and ids(**{"start_date": past["start_date"]}) == []
    # the service_request_id list overrides every other filter
    assert ids(service_request_id=numbers[0], **past) == [numbers[0]]
    [cancelled] = client.get(f"{BASE}/requests/{numbers[0]}.json").json()
    assert cancelled["status"] == "closed" and "重复上报" in cancelled["status_notes"]
    [registered] = client.get(f"{BASE}/requests/{numbers[1]}.json").json()
    assert registered["status"] == "open" and registered["status_notes"] == "registered; awaiting dispatch"
    assert registered["expected_datetime"].endswith("T23:59:59+08:00")
    # bad parameters
    wide = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}
    assert_error(client.get(f"{BASE}/requests.json", params=wide), 400, "json", "90")
    bad_date = client.get(f"{BASE}/requests.xml", params={"start_date": "yesterday"})
    assert_error(bad_date, 400, "xml", "start_date")
    naive = client.get(f"{BASE}/requests.json", params={"end_date": "2026-01-01T00:00:00"})
    assert_error(naive, 400, "json", "end_date")
    assert_error(client.get(f"{BASE}/requests.json", params={"status": "pending"}), 400, "json", "status")
    unknown = client.get(f"{BASE}/requests.json", params={"service_code": "event:9999"})
    assert_error(unknown, 404, "json", "service_code")
    assert_error(client.get(f"{BASE}/requests/20200101-999999.xml"), 404, "xml", "20200101-999999")
    assert_error(client.get(f"{BASE}/requests/abc.json"), 404, "json", "abc")


# --- a real client against a live server ---------------------------------------------------------------
@pytest.fixture
def live(app):  # noqa: ANN001, ANN201
    """The test's app served by uvicorn on a free port (over the test's own database transaction)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # waiting for readiness, not asserting anything about time
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}{BASE}"
    server.should_exit = True
    thread.join(timeout=15)
    sock.close()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client(live, client, city, keys, fmt) -> None:  # noqa: ANN001
    [posted] = post(client, keys["channel"], media_url="https://img.example.cn/b.jpg").json()
    number, token = posted["service_request_id"], posted["token"]
    geo = GeoReport(live, output_format=fmt)
    services = geo.get_service_list()
    assert {s["service_code"] for s in services} == {MANHOLE, SHED}
    assert {s["group"] for s in services} == {"公用设施", "市容环境"}
    definition = geo.get_service_definition(SHED)
    assert definition["service_code"] == SHED
    found = geo.get_service_requests(service_code=SHED, status="open")
    found = found if isinstance(found, list) else [found]  # xmltodict gives one request as a dict
    assert [r["service_request_id"] for r in found] == [number]
    one = geo.get_service_request(number)
    assert one["service_request_id"] == number and one["service_name"] == "私搭乱建"
    assert one["media_url"] == "https://img.example.cn/b.jpg" and one["status"] == "open"
    with pytest.raises(HTTPError) as caught:
        geo.get_service_request("20200101-000001")
    assert caught.value.response.status_code == 404
    # the client has no tokens: plain HTTP to the same server, the answer parsed as JSON or XML
    r = httpx.get(f"{live}/tokens/{token}.{fmt}")
    assert r.status_code == 200, r.text
    if fmt == "json":
        assert r.json() == [{"service_request_id": number, "token": token}]
    else:
        assert [(c.tag, c.text) for c in xml_doc(r)[0]] == [("service_request_id", number), ("token", token)]
    assert_error(httpx.get(f"{live}/tokens/1-{'0' * 20}.{fmt}"), 404, fmt, "token")
