"""The DCAT-AP export: JSON-LD and Turtle that rdflib parses back into the same graph, the catalog's metadata
in DCAT-AP terms (EU frequency and access-right vocabularies), and the CKAN API's visibility rule."""

from __future__ import annotations

import pytest
import requests
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic

# open namespaces: rdflib's closed ones warn when pytest inspects this module's names
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
EU = "http://publications.europa.eu/resource/authority/"
# rdflib's own JSON-LD parser still builds a ConjunctiveGraph
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


def fetch(site, fmt: str, key: str | None = None, **params) -> requests.Response:  # noqa: ANN001, ANN003
    headers = {"Authorization": key} if key else {}
    return requests.get(f"{site.url}/api/v1/catalog/dcat.{fmt}", params=params, headers=headers, timeout=30)


def graph(site, fmt: str = "ttl", key: str | None = None, **params) -> Graph:  # noqa: ANN001, ANN003
    answer = fetch(site, fmt, key, **params)
    assert answer.status_code == 200, answer.text
    return Graph().parse(data=answer.text, format="json-ld" if fmt == "jsonld" else "turtle")


def titles(g: Graph) -> set[str]:
    return {str(t) for ds in g.subjects(RDF.type, DCAT.Dataset) for t in g.objects(ds, DCTERMS.title)}


def test_both_formats_parse_to_the_same_graph(catalog_site) -> None:  # noqa: ANN001
    ttl, jsonld = fetch(catalog_site, "ttl"), fetch(catalog_site, "jsonld")
    assert ttl.headers["content-type"].startswith("text/turtle")
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    a = Graph().parse(data=ttl.text, format="turtle")
    b = Graph().parse(data=jsonld.text, format="json-ld")
    assert len(a) > 100 and isomorphic(a, b)
    [catalog] = a.subjects(RDF.type, DCAT.Catalog)
    assert len(list(a.objects(catalog, DCAT.dataset))) == catalog_site.open_count


def test_a_dataset_in_dcat_ap_terms(catalog_site) -> None:  # noqa: ANN001
    g = graph(catalog_site, "jsonld")
    rows = g.query(
        """
        SELECT ?ds ?title ?publisher ?name ?credit ?freq ?rights ?modified ?issued ?url ?format ?theme ?label
        WHERE {
          ?ds a dcat:Dataset ; dct:identifier ?code ; dct:title ?title ; dct:publisher ?publisher ;
              dct:accrualPeriodicity ?freq ; dct:accessRights ?rights ; dct:modified ?modified ;
              dct:issued ?issued ; dcat:theme ?theme ; dcat:distribution ?dist .
          ?publisher a foaf:Agent ; foaf:name ?name ; dct:identifier ?credit .
          ?dist a dcat:Distribution ; dcat:accessURL ?url ; dct:format ?format .
          ?theme a skos:Concept ; skos:prefLabel ?label .
        }""",
        initNs={"dcat": DCAT, "dct": DCTERMS, "foaf": FOAF, "skos": SKOS},
        initBindings={"code": Literal(catalog_site.codes["流动人口统计信息"])},
    )
    [row] = list(rows)
    assert row.title == Literal("流动人口统计信息", lang="zh")
    assert row.name == Literal("南京市统计局", lang="zh")
    assert str(row.credit) == catalog_site.org_names["stats"].upper()
    assert row.freq == URIRef(EU + "frequency/MONTHLY")
    assert row.rights == URIRef(EU + "access-right/PUBLIC")
    assert row.modified.datatype == XSD.dateTime and row.issued == Literal("2024-03-01", datatype=XSD.date)
    code = catalog_site.codes["流动人口统计信息"]
    assert str(row.url) == f"{catalog_site.url}/api/v1/exchange/resources/{code}/records"
    assert row.format == URIRef(EU + "file-type/JSON")
    assert row.label == Literal("户籍人口", lang="zh")
    # the class concept climbs 目 → 项 → 类
    lineage = [str(g.value(c, SKOS.notation)) for c in g.transitive_objects(row.theme, SKOS.broader)]
    assert lineage == ["101001", "101", "1"]
    top = URIRef(f"{catalog_site.url}/catalog/classes/1")
    assert g.value(top, SKOS.prefLabel) == Literal("基础信息资源", lang="zh")
    keywords = set(g.objects(row.ds, DCAT.keyword))
    assert keywords == {Literal("人口", lang="zh"), Literal("统计", lang="zh")}
    assert g.value(row.ds, DCTERMS.description).language == "zh"


def test_periodicity_and_access_rights(catalog_site) -> None:  # noqa: ANN001
    g = graph(catalog_site, key=catalog_site.clerk_key)
    by_title = {str(g.value(ds, DCTERMS.title)): ds for ds in g.subjects(RDF.type, DCAT.Dataset)}

    def term(title: str, prop: URIRef) -> str:
        return str(g.value(by_title[title], prop)).rsplit("/", 1)[-1]

    assert term("个体工商户登记信息", DCTERMS.accrualPeriodicity) == "CONT"  # realtime
    assert term("人口出生统计信息", DCTERMS.accrualPeriodicity) == "ANNUAL"
    assert term("食品生产许可信息", DCTERMS.accrualPeriodicity) == "IRREG"
    assert term("企业经营异常名录信息", DCTERMS.accrualPeriodicity) == "QUARTERLY"
    assert term("人口出生统计信息", DCTERMS.accessRights) == "RESTRICTED"  # 有条件开放
    assert term("食品生产许可信息", DCTERMS.accessRights) == "NON_PUBLIC"
    # a related resource is linked when the reader may see it
    population = by_title["全市实有人口基础信息"]
    assert (by_title["流动人口统计信息"], DCTERMS.relation, population) in g


def test_anonymous_gets_the_open_catalog(catalog_site) -> None:  # noqa: ANN001
    anonymous = graph(catalog_site)
    assert "全市实有人口基础信息" not in titles(anonymous) and "食品生产许可信息" not in titles(anonymous)
    assert "旧版企业年报信息" not in titles(anonymous)
    # the related resource is not open: no link to it either
    assert not list(anonymous.objects(None, DCTERMS.relation))
    whole = graph(catalog_site, "jsonld", catalog_site.clerk_key)
    assert len(titles(whole)) == catalog_site.published_count and "旧版企业年报信息" not in titles(whole)
    outsider = graph(catalog_site, "ttl", catalog_site.outsider_key)
    assert titles(outsider) == titles(anonymous)


def test_one_provider(catalog_site) -> None:  # noqa: ANN001
    g = graph(catalog_site, key=catalog_site.clerk_key, provider=catalog_site.org_names["market"])
    assert titles(g) == {"企业登记信息", "企业经营异常名录信息", "食品生产许可信息"}
    [catalog] = g.subjects(RDF.type, DCAT.Catalog)
    publisher = g.value(catalog, DCTERMS.publisher)
    assert g.value(publisher, FOAF.name) == Literal("南京市市场监督管理局", lang="zh")
    by_id = graph(catalog_site, "jsonld", provider=str(catalog_site.orgs["stats"]))
    assert titles(by_id) == {"流动人口统计信息", "人口出生统计信息"}


@pytest.mark.parametrize("fmt", ["ttl", "jsonld"])
def test_refusals(catalog_site, fmt: str) -> None:  # noqa: ANN001
    missing = fetch(catalog_site, fmt, provider="no-such-org")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    refused = fetch(catalog_site, fmt, catalog_site.revoked_key)
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert fetch(catalog_site, fmt, provider="x" * 101).status_code == 422
