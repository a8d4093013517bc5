"""The CKAN-compatible action API, driven by a real CKAN client (ckanapi's RemoteCKAN) against a live server:
anonymous callers see the open catalog, a key with catalog.read (a provider clerk's system) the whole of
it, an outsider's key no more than anonymous, a bad key is refused; errors come back as the exceptions
ckanapi maps CKAN's error types to."""

from __future__ import annotations

import json

import pytest
import requests
from ckanapi import CKANAPIError, NotAuthorized, NotFound, RemoteCKAN, ValidationError


def ckan(site, key: str | None = None, path: str = "api/3/action/", get_only: bool = False) -> RemoteCKAN:  # noqa: ANN001
    client = RemoteCKAN(site.url, apikey=key, get_only=get_only)
    client.base_url = path
    return client


def titles(result: dict) -> set[str]:
    return {p["title"] for p in result["results"]}


def test_status_and_envelope(catalog_site) -> None:  # noqa: ANN001
    status = ckan(catalog_site).action.status_show()
    assert status["ckan_version"].startswith("2.") and status["site_url"] == catalog_site.url
    raw = requests.get(f"{catalog_site.url}/api/3/action/status_show", timeout=10)
    body = raw.json()
    assert raw.status_code == 200 and body["success"] is True
    assert body["help"] == f"{catalog_site.url}/api/3/action/help_show?name=status_show"
    doc = ckan(catalog_site).action.help_show(name="package_search")
    assert "fq" in doc


def test_anonymous_sees_the_open_catalog_only(catalog_site) -> None:  # noqa: ANN001
    found = ckan(catalog_site).action.package_search(rows=1000)
    assert found["count"] == catalog_site.open_count == len(found["results"])
    names = titles(found)
    assert "流动人口统计信息" in names and "人口出生统计信息" in names  # 无条件开放 and 有条件开放
    assert not names & {"全市实有人口基础信息", "食品生产许可信息", "旧版企业年报信息"}  # 不予开放, retired
    assert all(p["private"] is False and p["state"] == "active" for p in found["results"])
    # the default path of ckanapi (/api/action/) answers the same
    assert ckan(catalog_site, path="api/action/").action.package_search(rows=1000)["count"] == found["count"]


def test_a_key_with_catalog_read_sees_the_whole_catalog(catalog_site) -> None:  # noqa: ANN001
    found = ckan(catalog_site, catalog_site.clerk_key).action.package_search(rows=1000)
    assert found["count"] == catalog_site.published_count
    names = titles(found)
    assert {"全市实有人口基础信息", "食品生产许可信息"} <= names and "旧版企业年报信息" not in names
    private = {p["title"] for p in found["results"] if p["private"]}
    assert private == {"全市实有人口基础信息", "食品生产许可信息"}
    # include_private=false asks for the open catalog only, as in CKAN
    public = ckan(catalog_site, catalog_site.clerk_key).action.package_search(
        rows=1000, include_private=False
    )
    assert public["count"] == catalog_site.open_count


def test_q_finds_chinese_words(catalog_site) -> None:  # noqa: ANN001
    anonymous = ckan(catalog_site).action.package_search(q="人口")
    assert titles(anonymous) == {"流动人口统计信息", "人口出生统计信息"}
    clerk = ckan(catalog_site, catalog_site.clerk_key).action.package_search(q="人口")
    assert titles(clerk) == {"全市实有人口基础信息", "流动人口统计信息", "人口出生统计信息"}
    assert clerk["sort"] == "score desc, metadata_modified desc"
    # the catalog's own search: a long word counts by its parts, and *:* is everything
    assert titles(ckan(catalog_site).action.package_search(q="个体工商户")) == {"个体工商户登记信息"}
    assert ckan(catalog_site).action.package_search(q="*:*")["count"] == catalog_site.open_count
    # fielded terms inside q are filters
    both = ckan(catalog_site).action.package_search(q="人口 update_cycle:yearly")
    assert titles(both) == {"人口出生统计信息"}


def test_a_package_as_ckan_shapes_it(catalog_site) -> None:  # noqa: ANN001
    code = catalog_site.codes["流动人口统计信息"]
    pkg = ckan(catalog_site).action.package_show(id=str(catalog_site.ids["流动人口统计信息"]))
    assert pkg["name"] == code.replace("/", "-") and pkg["type"] == "dataset" and pkg["state"] == "active"
    assert pkg["title"] == "流动人口统计信息" and pkg["notes"].startswith("流动人口统计信息")
    assert pkg["organization"] == {
        **pkg["organization"],
        "id": str(catalog_site.orgs["stats"]),
        "name": catalog_site.org_names["stats"],
        "title": "南京市统计局",
    }
    assert pkg["owner_org"] == str(catalog_site.orgs["stats"])
    assert {t["name"] for t in pkg["tags"]} == {"人口", "统计"} and pkg["num_tags"] == 2
    [resource] = pkg["resources"]
    assert pkg["num_resources"] == 1 and resource["format"] == "spreadsheet"
    assert resource["url"] == f"{catalog_site.url}/api/v1/exchange/resources/{code}/records"
    assert resource["datastore_active"] is False
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert extras["resource_code"] == code and extras["share_type"] == "unconditional"
    assert (
        extras["update_cycle"] == "monthly"
        and extras["grade"] == "general"
        and extras["class_code"] == "101001"
    )
    assert extras["related_codes"] == catalog_site.codes["全市实有人口基础信息"]
    assert extras["provider_credit_code"] == catalog_site.org_names["stats"].upper()
    assert pkg["metadata_created"] <= pkg["metadata_modified"] and "+" not in pkg["metadata_modified"]
    # by name and by code the same package
    assert ckan(catalog_site).action.package_show(id=pkg["name"])["id"] == pkg["id"]
    assert ckan(catalog_site).action.package_show(id=code)["id"] == pkg["id"]


def test_package_show_follows_visibility(catalog_site) -> None:  # noqa: ANN001
    hidden, retired = catalog_site.ids["全市实有人口基础信息"], catalog_site.ids["旧版企业年报信息"]
    for key in (None, catalog_site.outsider_key):
        for rid in (hidden, retired, 999999, "9" * 30):
            with pytest.raises(NotFound):
                ckan(catalog_site, key).action.package_show(id=str(rid))
    clerk = ckan(catalog_site, catalog_site.clerk_key)
    assert clerk.action.package_show(id=str(hidden))["private"] is True
    assert clerk.action.package_show(id=str(retired))["state"] == "deleted"
    with pytest.raises(NotFound):
        clerk.action.package_show(id="no-such-package")
    with pytest.raises(ValidationError):
        clerk.action.package_show()


def test_fq_filters(catalog_site) -> None:  # noqa: ANN001
    c = ckan(catalog_site, catalog_site.clerk_key)

    def search(fq: str, **kw) -> set[str]:  # noqa: ANN003
        return titles(c.action.package_search(fq=fq, rows=1000, **kw))

    market = {"企业登记信息", "企业经营异常名录信息", "食品生产许可信息"}
    assert search(f"organization:{catalog_site.org_names['market']}") == market
    assert search(f"owner_org:{catalog_site.orgs['market']}") == market
    assert search(f"organization:{catalog_site.org_names['stats']}") == {
        "流动人口统计信息",
        "人口出生统计信息",
    }
    assert search("tags:企业") == {"企业登记信息", "企业经营异常名录信息"}
    assert search('tags:"个体工商户" res_format:interface') == {"个体工商户登记信息"}
    assert search("res_format:电子文件") == {"食品生产许可信息"}  # a Chinese label works as the key
    assert search("share_type:none") == {"食品生产许可信息"}
    assert search("grade:important") == {"全市实有人口基础信息"}
    assert search("update_cycle:(quarterly OR realtime)") == {"企业经营异常名录信息", "个体工商户登记信息"}
    assert search("class:1") == {"全市实有人口基础信息", "流动人口统计信息", "人口出生统计信息"}
    assert search("tags:企业 -share_type:conditional") == {"企业登记信息"}
    assert search("capacity:private") == {"全市实有人口基础信息", "食品生产许可信息"}
    stats, district = catalog_site.org_names["stats"], catalog_site.orgs["district"]
    assert search(f"organization:{stats} OR owner_org:{district}") == {
        "流动人口统计信息",
        "人口出生统计信息",
        "个体工商户登记信息",
    }
    assert search("tags:许可 || tags:信用") == {"食品生产许可信息", "企业经营异常名录信息"}
    assert search("organization:no-such-org") == set()
    assert search("owner_org:99999999999999999999 OR id:99999999999999999999") == set()
    assert len(search("+dataset_type:dataset state:active")) == catalog_site.published_count
    # what harvesters send: everything changed since their last run
    since = catalog_site.cut.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert search(f"metadata_modified:[{since} TO *]") == {"企业登记信息"}
    assert search(f"metadata_modified:[* TO {since}] tags:企业") == {"企业经营异常名录信息"}
    assert len(search("metadata_modified:[NOW-1DAY TO NOW]")) == catalog_site.published_count
    # fq as a list (CKAN 2.9's fq_list) is AND-ed
    assert titles(c.action.package_search(fq_list=["tags:企业", "share_type:unconditional"])) == {
        "企业登记信息"
    }


def test_facets(catalog_site) -> None:  # noqa: ANN001
    fields = ["organization", "tags", "res_format", "share_type", "grade", "update_cycle", "class"]
    found = ckan(catalog_site).action.package_search(q="人口", **{"facet.field": json.dumps(fields)})
    facets, shown = found["facets"], found["search_facets"]
    assert set(facets) == set(fields) == set(shown)
    assert facets["organization"] == {catalog_site.org_names["stats"]: 2}
    assert facets["tags"] == {"人口": 2, "统计": 2}
    assert facets["res_format"] == {"spreadsheet": 2} and facets["class"] == {"1": 2}
    assert facets["update_cycle"] == {"monthly": 1, "yearly": 1}
    items = {i["name"]: i for i in shown["organization"]["items"]}
    assert items[catalog_site.org_names["stats"]] == {
        "name": catalog_site.org_names["stats"],
        "display_name": "南京市统计局",
        "count": 2,
    }
    assert shown["share_type"]["items"] == [
        {"name": "unconditional", "display_name": "无条件共享", "count": 2}
    ]
    assert shown["class"]["items"][0]["display_name"] == "基础信息资源"
    # the counts cover the whole match set, not the page; facet.limit cuts the values
    everything = ckan(catalog_site).action.package_search(
        rows=1, **{"facet.field": '["tags"]', "facet.limit": 1}
    )
    assert len(everything["results"]) == 1 and everything["facets"]["tags"] == {"公共服务": 12}
    # no facet.field: no facets (CKAN's default)
    assert ckan(catalog_site).action.package_search()["facets"] == {}


def test_paging_with_rows_and_start(catalog_site) -> None:  # noqa: ANN001
    c = ckan(catalog_site, catalog_site.clerk_key, get_only=True)  # GET with query parameters
    assert len(c.action.package_search()["results"]) == 10  # rows defaults to 10
    seen: list[str] = []
    for start in range(0, 25, 7):
        page = c.action.package_search(rows=7, start=start, sort="id asc")
        assert page["count"] == catalog_site.published_count
        seen += [p["id"] for p in page["results"]]
    assert len(seen) == len(set(seen)) == catalog_site.published_count
    assert seen == sorted(seen, key=int)
    assert c.action.package_search(rows=5, start=1000)["results"] == []
    by_title = [p["title"] for p in c.action.package_search(rows=1000, sort="title_string asc")["results"]]
    assert by_title == sorted(by_title)
    # rows above 1000 are cut to 1000, as CKAN does
    assert c.action.package_search(rows=5000)["count"] == catalog_site.published_count


def test_organizations(catalog_site) -> None:  # noqa: ANN001
    anonymous, clerk = ckan(catalog_site), ckan(catalog_site, catalog_site.clerk_key)
    names = anonymous.action.organization_list()
    assert set(names) == {catalog_site.org_names[k] for k in ("stats", "market", "data")} | {
        f"org-{catalog_site.orgs['district']}"
    }
    full = {o["name"]: o for o in clerk.action.organization_list(all_fields=True)}
    assert full[catalog_site.org_names["market"]]["package_count"] == 3
    assert full[catalog_site.org_names["market"]]["title"] == "南京市市场监督管理局"
    counted = {o["name"]: o["package_count"] for o in anonymous.action.organization_list(all_fields=True)}
    assert counted[catalog_site.org_names["market"]] == 2  # 食品生产许可信息 is not open
    by_count = clerk.action.organization_list(sort="package_count desc", all_fields=True)
    assert [o["package_count"] for o in by_count] == sorted(
        (o["package_count"] for o in by_count), reverse=True
    )

    org = clerk.action.organization_show(id=catalog_site.org_names["stats"], include_datasets=True)
    assert org["title"] == "南京市统计局" and org["package_count"] == 2
    assert {p["title"] for p in org["packages"]} == {"流动人口统计信息", "人口出生统计信息"}
    assert {"key": "credit_code", "value": catalog_site.org_names["stats"].upper()} in org["extras"]
    assert clerk.action.organization_show(id=str(catalog_site.orgs["stats"]))["name"] == org["name"]
    assert "packages" not in clerk.action.organization_show(id=org["name"])
    for ref in ("no-such-org", str(catalog_site.world.province)):  # the province provides nothing
        with pytest.raises(NotFound):
            clerk.action.organization_show(id=ref)


def test_tags(catalog_site) -> None:  # noqa: ANN001
    anonymous = ckan(catalog_site).action.tag_list()
    assert "人口" in anonymous and "公共服务" in anonymous and "许可" not in anonymous  # 许可: not open
    assert "许可" in ckan(catalog_site, catalog_site.clerk_key).action.tag_list()
    assert ckan(catalog_site).action.tag_list(query="企业") == ["企业"]
    assert ckan(catalog_site).action.tag_list(query="企业", all_fields=True)[0]["name"] == "企业"


def test_bad_input_is_a_validation_error(catalog_site) -> None:  # noqa: ANN001
    c = ckan(catalog_site)
    bad = [
        {"rows": -1},
        {"rows": "ten"},
        {"start": -5},
        {"fq": "organization:("},
        {"fq": "nosuchfield:1"},
        {"fq": "metadata_modified:[yesterday TO *]"},
        {"fq": "share_type:[a TO b]"},
        {"fq": "tags:企业 OR grade:core"},
        {"fq": "OR grade:core"},
        {"fq": "grade:core OR"},
        {"fq": "metadata_modified:[NOW-99999999999999DAYS TO *]"},
        {"facet.field": '["organization"'},
        {"facet.field": '["nosuchfacet"]'},
        {"sort": "popularity desc"},
        {"include_private": "perhaps"},
    ]
    for params in bad:
        with pytest.raises(ValidationError) as caught:
            c.action.package_search(**params)
        assert caught.value.error_dict["__type"] == "Validation Error", params
    raw = requests.get(f"{catalog_site.url}/api/3/action/package_search", params={"rows": "x"}, timeout=10)
    assert raw.status_code == 409 and raw.json()["error"]["rows"] == ["Invalid integer"]


def test_unknown_action_and_broken_body(catalog_site) -> None:  # noqa: ANN001
    with pytest.raises(CKANAPIError) as caught:
        ckan(catalog_site).action.package_create(name="x")
    assert "400" in str(caught.value)
    url = f"{catalog_site.url}/api/3/action/package_search"
    broken = requests.post(url, data=b'{"q": ', headers={"Content-Type": "application/json"}, timeout=10)
    assert broken.status_code == 400 and broken.json()["success"] is False
    assert broken.json()["error"]["message"].startswith("Bad request - ")
    listed = requests.post(url, json=["q"], timeout=10)
    assert listed.status_code == 400
    form = requests.post(url, data={"q": "人口", "rows": "1"}, timeout=10)
    assert form.status_code == 200 and len(form.json()["result"]["results"]) == 1


def test_keys(catalog_site) -> None:  # noqa: ANN001
    anonymous = ckan(catalog_site).action.package_search(rows=1000)
    outsider = ckan(catalog_site, catalog_site.outsider_key).action.package_search(rows=1000)
    assert titles(outsider) == titles(anonymous)  # a key without catalog.read sees no more
    for key in (catalog_site.revoked_key, "zc_0000000000000000_forged", "not-a-key"):
        with pytest.raises(NotAuthorized):
            ckan(catalog_site, key).action.package_search()
    url = f"{catalog_site.url}/api/3/action/package_search"
    for headers in (
        {"Authorization": catalog_site.clerk_key},
        {"X-CKAN-API-Key": catalog_site.clerk_key},
        {"Authorization": f"Bearer {catalog_site.clerk_key}"},
    ):
        answer = requests.get(url, params={"rows": 0}, headers=headers, timeout=10).json()
        assert answer["result"]["count"] == catalog_site.published_count, headers
    refused = requests.get(url, headers={"X-CKAN-API-Key": "zc_0_bad"}, timeout=10)
    assert refused.status_code == 403
    assert refused.json()["error"]["__type"] == "Authorization Error"


def test_package_list(catalog_site) -> None:  # noqa: ANN001
    listed = ckan(catalog_site).action.package_list()
    assert len(listed) == catalog_site.open_count and listed == sorted(listed)
    assert catalog_site.codes["流动人口统计信息"].replace("/", "-") in listed
    assert ckan(catalog_site).action.package_list(limit=3, offset=1) == listed[1:4]
