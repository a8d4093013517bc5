"""The catalog as a DCAT-AP graph (rdflib), served as JSON-LD and Turtle.

One dcat:Catalog; each published resource a dcat:Dataset whose IRI is its page in the console
(`<site>/catalog/<id>`), with dct:identifier (the resource code), title and description tagged @zh, the
provider as dct:publisher (a foaf:Agent, its credit code as dct:identifier), keywords, the classification
as dcat:theme (skos:Concept in one skos:ConceptScheme, with skos:broader up to its 类),
dct:accrualPeriodicity from the EU frequency vocabulary, dct:issued / dct:modified typed xsd:date /
xsd:dateTime, dct:accessRights from the EU access-right vocabulary by open type, dct:relation to related
resources the reader may also see, and one dcat:Distribution: the governed exchange API (dcat:accessURL),
answering JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from zhicheng.catalog import vocab
from zhicheng.catalog.ckan import exchange_url
from zhicheng.catalog.models import CatalogClass, Resource
from zhicheng.core.orgs.models import Org

EU = "http://publications.europa.eu/resource/authority/"
FREQ = Namespace(EU + "frequency/")
ACCESS = Namespace(EU + "access-right/")
FILE_TYPE = Namespace(EU + "file-type/")
LANGUAGE = Namespace(EU + "language/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
JSON_MEDIA = URIRef("https://www.iana.org/assignments/media-types/application/json")
FREQUENCIES = {
    "realtime": FREQ.CONT,
    "daily": FREQ.DAILY,
    "weekly": FREQ.WEEKLY,
    "monthly": FREQ.MONTHLY,
    "quarterly": FREQ.QUARTERLY,
    "yearly": FREQ.ANNUAL,
    "irregular": FREQ.IRREG,
}
ACCESS_RIGHTS = {"unconditional": ACCESS.PUBLIC, "conditional": ACCESS.RESTRICTED, "none": ACCESS.NON_PUBLIC}
CONTEXT = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "skos": str(SKOS),
    "vcard": str(VCARD),
    "xsd": str(XSD),
}
ZH = "zh"


def _zh(text: str) -> Literal:
    return Literal(text, lang=ZH)


def _when(moment: dt.datetime) -> Literal:
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return Literal(utc.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=XSD.dateTime)


class Builder:
    """Adds the catalog's parts to one graph; agents and concepts are described once, however often used."""

    def __init__(self, base: str, classes: dict[str, CatalogClass]) -> None:
        self.base, self.classes = base, classes
        self.g = Graph(bind_namespaces="core")
        for prefix, ns in CONTEXT.items():
            self.g.bind(prefix, ns)
        self.scheme = URIRef(f"{base}/catalog/classes")
        self._agents: set[int] = set()
        self._concepts: set[str] = set()

    def dataset_iri(self, resource_id: int) -> URIRef:
        return URIRef(f"{self.base}/catalog/{resource_id}")

    def catalog(self, resources: list[Resource], publisher: Org | None) -> URIRef:
        g, node = self.g, URIRef(f"{self.base}/catalog")
        title = f"{publisher.name}数据资源目录" if publisher else "智城政务信息资源目录"
        g.add((node, RDF.type, DCAT.Catalog))
        g.add((node, DCTERMS.title, _zh(title)))
        g.add((node, DCTERMS.description, _zh("政务信息资源目录（DCAT-AP），由智城平台导出")))
        g.add((node, DCTERMS.language, LANGUAGE.ZHO))
        g.add((node, FOAF.homepage, URIRef(f"{self.base}/")))
        g.add((node, DCAT.themeTaxonomy, self.scheme))
        g.add((self.scheme, RDF.type, SKOS.ConceptScheme))
        g.add((self.scheme, DCTERMS.title, _zh("信息资源分类")))
        if publisher is not None:
            g.add((node, DCTERMS.publisher, self.agent(publisher)))
        if resources:
            g.add((node, DCTERMS.modified, _when(max(r.updated_at for r in resources))))
        return node

    def agent(self, org: Org) -> URIRef:
        node = URIRef(f"{self.base}/orgs/{org.id}")
        if org.id not in self._agents:
            self._agents.add(org.id)
            self.g.add((node, RDF.type, FOAF.Agent))
            self.g.add((node, RDF.type, FOAF.Organization))
            self.g.add((node, FOAF.name, _zh(org.name)))
            if org.credit_code:
                self.g.add((node, DCTERMS.identifier, Literal(org.credit_code)))
        return node

    def concept(self, code: str) -> URIRef:
        node = URIRef(f"{self.scheme}/{code}")
        if code not in self._concepts:
            self._concepts.add(code)
            klass = self.classes.get(code)
            self.g.add((node, RDF.type, SKOS.Concept))
            self.g.add((node, SKOS.notation, Literal(code)))
            self.g.add((node, SKOS.inScheme, self.scheme))
            if klass is not None:
                self.g.add((node, SKOS.prefLabel, _zh(klass.name)))
                if klass.parent_code:
                    self.g.add((node, SKOS.broader, self.concept(klass.parent_code)))
                else:
                    self.g.add((self.scheme, SKOS.hasTopConcept, node))
        return node

    def dataset(self, res: Resource, org: Org | None, related: dict[str, int]) -> URIRef:
        g, node = self.g, self.dataset_iri(res.id)
        g.add((node, RDF.type, DCAT.Dataset))
        g.add((node, DCTERMS.identifier, Literal(res.code)))
        g.add((node, DCTERMS.title, _zh(res.name)))
        g.add((node, DCTERMS.description, _zh(res.summary or res.name)))
        g.add((node, DCAT.landingPage, node))
        g.add((node, DCTERMS.language, LANGUAGE.ZHO))
        if org is not None:
            g.add((node, DCTERMS.publisher, self.agent(org)))
            contact = URIRef(f"{self.base}/orgs/{org.id}#contact")
            g.add((node, DCAT.contactPoint, contact))
            g.add((contact, RDF.type, VCARD.Organization))
            g.add((contact, VCARD.fn, _zh(org.name)))
        for word in dict.fromkeys(k.strip() for k in res.keywords or []):
            if word:
                g.add((node, DCAT.keyword, _zh(word)))
        g.add((node, DCAT.theme, self.concept(res.class_code)))
        if res.update_cycle in FREQUENCIES:
            g.add((node, DCTERMS.accrualPeriodicity, FREQUENCIES[res.update_cycle]))
            g.add((FREQUENCIES[res.update_cycle], RDF.type, DCTERMS.Frequency))
        if res.published_on:
            g.add((node, DCTERMS.issued, Literal(res.published_on.isoformat(), datatype=XSD.date)))
        g.add((node, DCTERMS.modified, _when(res.updated_at)))
        rights = ACCESS_RIGHTS.get(res.open_type, ACCESS.NON_PUBLIC)
        g.add((node, DCTERMS.accessRights, rights))
        g.add((rights, RDF.type, DCTERMS.RightsStatement))
        for code in res.related_codes or []:
            if code in related:
                g.add((node, DCTERMS.relation, self.dataset_iri(related[code])))
        dist = URIRef(f"{node}#exchange")
        g.add((node, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, _zh(f"{res.name}（数据交换接口）")))
        g.add((dist, DCTERMS.description, _zh(f"源数据格式：{vocab.FORMATS.get(res.format, res.format)}")))
        g.add((dist, DCAT.accessURL, URIRef(exchange_url(self.base, res.code))))
        g.add((dist, DCTERMS.format, FILE_TYPE.JSON))
        g.add((dist, DCAT.mediaType, JSON_MEDIA))
        g.add((dist, DCTERMS.accessRights, rights))
        return node


def catalog_graph(
    base: str,
    resources: Iterable[Resource],
    orgs: dict[int, Org],
    classes: dict[str, CatalogClass],
    related: dict[str, int],
    publisher: Org | None = None,
) -> Graph:
    """The graph of a catalog of these resources. `related` maps the codes of related resources that may be
    shown to their ids; `publisher` names the catalog's own publisher when it is one department's."""
    resources = list(resources)
    b = Builder(base, classes)
    catalog = b.catalog(resources, publisher)
    for res in resources:
        b.g.add((catalog, DCAT.dataset, b.dataset(res, orgs.get(res.provider_org_id), related)))
    return b.g


def turtle(g: Graph) -> str:
    return g.serialize(format="turtle")


def jsonld(g: Graph) -> str:
    return g.serialize(format="json-ld", context=CONTEXT, auto_compact=True, indent=None)
