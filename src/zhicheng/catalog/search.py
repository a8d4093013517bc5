"""Chinese full-text search over the catalog, with facets.

Text is segmented by jieba (search mode, so that 流动人口 is indexed as 流动 人口 流动人口 ...) and stored
pre-segmented, words separated by spaces, so that each database's own plain word splitter does the rest:
- SQLite: the FTS5 table `catalog_fts(name, keywords, body)`, rowid = resource id, the default unicode61
  tokenizer, ranked with bm25 (name 10, keywords 4, the rest 1);
- PostgreSQL: `catalog_search` with a GIN-indexed tsvector, `to_tsvector('simple', ...)` weighted A (name),
  B (keywords), C (the rest), ranked with ts_rank_cd. It also carries the resource's status and facet
  columns, so that matching, filtering and counting read one table (a join to catalog_resource made the
  planner scan all of it for a few thousand matches).
`catalog_search_state` holds a random generation, changed by every index write: results are cached per
generation, so a cached answer is never one from before a committed change. None of these tables is in
Base.metadata (an FTS5 table cannot be): `include_name` keeps Alembic's comparison off them.

The index is written in the transaction that changes the resource (services call `index_resource`), so it
never disagrees with the catalog after a commit. Only the segmented words of a query reach MATCH or the
tsquery, each quoted, so no query text can be read as search syntax.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from zhicheng.catalog.models import CatalogClass, Resource, ResourceItem
from zhicheng.core.db import Database
from zhicheng.core.orgs.models import Org

SEARCH_TABLES = ("catalog_fts", "catalog_search")  # also FTS5's catalog_fts_* and catalog_search_state
FACETS = ("provider_org_id", "class", "share_type", "grade", "format", "update_cycle")
COLUMNS = ("status", "provider_org_id", "class_code", "share_type", "grade", "format", "update_cycle")
WEIGHTS_SQLITE = "10.0, 4.0, 1.0"  # bm25 weights of name, keywords, body
CHUNK = 1000  # resources indexed per batch when reindexing
CACHE_SIZE = 512  # answers kept per process; 0 turns the cache off
_WORD = re.compile(r"\w")
_BLOCK = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+)")  # jieba's own runs (its re_han_default)
_lock = threading.Lock()
_jieba: Any = None

# PostgreSQL's table, described for building queries only (its own MetaData: the migration creates it)
pg_search = Table(
    "catalog_search",
    MetaData(),
    Column("resource_id", Integer, primary_key=True),
    *(Column(name, String) for name in COLUMNS if name != "provider_org_id"),
    Column("provider_org_id", Integer),
    Column("tsv", TSVECTOR),
)


def include_name(name: str | None, type_: str, _parents: Any = None) -> bool:
    """Alembic's include_name hook: leave the search tables (kept by raw SQL) out of model comparison."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLES))


def _segmenter() -> Any:
    """jieba, with its dictionary loaded once (about half a second) on first use, quietly."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def words(text: str) -> list[str]:
    """Search-mode words of `text`, punctuation and spaces dropped. HMM guessing is off: an unknown run of
    characters then splits the same way in every context (one character each), in documents and queries."""
    out: list[str] = []
    for block in _BLOCK.split(text or ""):
        if block:
            out.extend(_block_words(block))
    return out


@functools.lru_cache(maxsize=50_000)
def _block_words(block: str) -> tuple[str, ...]:
    """jieba segments each run of word characters on its own, so the words of a run can be cached: district,
    subject, org, class and item names repeat across thousands of resources."""
    return tuple(w for w in _segmenter().cut_for_search(block, HMM=False) if _WORD.search(w))


def segmented(text: str) -> str:
    return " ".join(words(text))


def query_terms(q: str) -> list[str]:
    """The words a query requires, all of them. Search mode yields a long word with its parts (工商户, 工商,
    商户); only the finest parts are kept, because a document that splits the phrase differently (个体 工商户
    rather than 个体工商户) still carries every part."""
    found = list(dict.fromkeys(words(q[:200])))
    return [w for w in found if not any(o != w and o in w for o in found)][:16]


# --- indexing -----------------------------------------------------------------------------------------


@dataclass
class Doc:
    resource_id: int
    name: str
    keywords: str
    body: str
    columns: dict[str, Any]  # status and facet values, copied for PostgreSQL's table


def documents(conn: Connection, ids: Sequence[int]) -> list[Doc]:
    """The segmented text of resources: name; keywords; summary, item names, provider and class names."""
    r, i = Resource.__table__, ResourceItem.__table__
    rows = conn.execute(
        select(r.c.id, r.c.name, r.c.keywords, r.c.summary, *(r.c[c] for c in COLUMNS)).where(r.c.id.in_(ids))
    ).all()
    if not rows:
        return []
    items: dict[int, list[str]] = {}
    for rid, name in conn.execute(
        select(i.c.resource_id, i.c.name).where(i.c.resource_id.in_(ids)).order_by(i.c.position)
    ):
        items.setdefault(rid, []).append(name)
    org_ids = {row.provider_org_id for row in rows}
    orgs = dict(conn.execute(select(Org.id, Org.name).where(Org.id.in_(org_ids))).all())
    classes = dict(conn.execute(select(CatalogClass.code, CatalogClass.name)).all())
    docs = []
    for row in rows:
        lineage = [classes.get(row.class_code[:n], "") for n in (1, 3, 6) if n < len(row.class_code)]
        body = [row.summary or "", *items.get(row.id, []), orgs.get(row.provider_org_id, "")]
        body += [*lineage, classes.get(row.class_code, "")]
        keywords = " ".join(segmented(k) for k in row.keywords or [])
        # each part segmented alone: no word is made across the boundary of two item names
        text_body = " ".join(segmented(b) for b in body if b)
        columns = {c: getattr(row, c) for c in COLUMNS}
        docs.append(Doc(row.id, segmented(row.name), keywords, text_body, columns))
    return docs


def write(conn: Connection, docs: Sequence[Doc]) -> None:
    """Replace the index rows of these documents, and change the generation (same transaction)."""
    if not docs:
        return
    rows = [
        {"resource_id": d.resource_id, "name": d.name, "keywords": d.keywords, "body": d.body} for d in docs
    ]
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM catalog_fts WHERE rowid = :resource_id"), rows)
        conn.execute(
            text(
                "INSERT INTO catalog_fts(rowid, name, keywords, body) "
                "VALUES (:resource_id, :name, :keywords, :body)"
            ),
            rows,
        )
    else:
        names = ", ".join(COLUMNS)
        conn.execute(
            text(
                f"INSERT INTO catalog_search(resource_id, {names}, tsv) VALUES (:resource_id, "
                + ", ".join(f":{c}" for c in COLUMNS)
                + ", setweight(to_tsvector('simple', :name), 'A')"
                " || setweight(to_tsvector('simple', :keywords), 'B')"
                " || setweight(to_tsvector('simple', :body), 'C')) ON CONFLICT (resource_id) DO UPDATE SET "
                + ", ".join(f"{c} = EXCLUDED.{c}" for c in (*COLUMNS, "tsv"))
            ),
            [{**row, **d.columns} for row, d in zip(rows, docs, strict=True)],
        )
    conn.execute(
        text("UPDATE catalog_search_state SET generation = :g WHERE id = 1"), {"g": random.getrandbits(62)}
    )


def index_resource(session: Session, resource_id: int) -> None:
    """(Re)index one resource inside the caller's transaction, after its pending changes are flushed."""
    session.flush()
    conn = session.connection()
    write(conn, documents(conn, [resource_id]))


def reindex(conn: Connection) -> int:
    """Rebuild the whole index on this connection (also run by the migration that creates it)."""
    conn.execute(
        text("DELETE FROM catalog_fts" if conn.dialect.name == "sqlite" else "DELETE FROM catalog_search")
    )
    ids = list(conn.scalars(select(Resource.__table__.c.id).order_by(Resource.__table__.c.id)))
    for start in range(0, len(ids), CHUNK):
        write(conn, documents(conn, ids[start : start + CHUNK]))
    if conn.dialect.name == "sqlite":  # merge the index's segments once the bulk is in
        conn.execute(text("INSERT INTO catalog_fts(catalog_fts) VALUES ('optimize')"))
    return len(ids)


def reindex_all(db: Database) -> int:
    """Rebuild the index in one transaction; returns how many resources were indexed."""
    with db.writer_sessions() as s:  # reads, then writes: on SQLite, holding the write lock
        count = reindex(s.connection())
        s.commit()
    return count


# --- querying -----------------------------------------------------------------------------------------


@dataclass
class SearchResult:
    total: int
    hits: list[Resource]  # each carries `.rank`: higher is better; 0 when browsing without words
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)  # the words searched for


def _conditions(cols: Any, filters: dict[str, Any]) -> list[Any]:
    wanted = {"status": "published", **{k: v for k, v in filters.items() if v not in (None, "")}}
    conds = [cols[name] == wanted[name] for name in COLUMNS if name in wanted and name != "class_code"]
    if wanted.get("class_code"):
        # the prefix picks classes from the small class table, so that the resource's class index is used
        under = select(CatalogClass.code).where(
            CatalogClass.code.startswith(str(wanted["class_code"]), autoescape=True)
        )
        conds.append(cols["class_code"].in_(under))
    return conds


def _matches(dialect: str, terms: list[str], filters: dict[str, Any]) -> Any:
    """The filtered match set: (rid, score, the facet source columns)."""
    if not terms:  # browsing: every resource that passes the filters, in catalogue order
        r = Resource.__table__
        return select(r.c.id.label("rid"), literal(0.0).label("score"), *(r.c[c] for c in COLUMNS)).where(
            *_conditions(r.c, filters)
        )
    if dialect == "sqlite":
        # each word a quoted FTS5 string ("" escapes a quote): never an operator, column or prefix query
        expr = " ".join('"' + t.replace('"', '""') + '"' for t in terms)
        fts = (
            text(
                f"SELECT rowid AS rid, -bm25(catalog_fts, {WEIGHTS_SQLITE}) AS score "
                "FROM catalog_fts WHERE catalog_fts MATCH :expr"
            )
            .bindparams(expr=expr)
            .columns(rid=Integer, score=Float)
            .subquery("m")
        )
        r = Resource.__table__
        return (
            select(fts.c.rid, fts.c.score, *(r.c[c] for c in COLUMNS))
            .join_from(fts, r, r.c.id == fts.c.rid)
            .where(*_conditions(r.c, filters))
        )
    # plainto_tsquery reads no operators at all; its words are AND-ed
    query = func.plainto_tsquery(literal_column("'simple'"), bindparam("expr", " ".join(terms), String))
    s = pg_search.c
    return select(
        s.resource_id.label("rid"), func.ts_rank_cd(s.tsv, query).label("score"), *(s[c] for c in COLUMNS)
    ).where(s.tsv.op("@@")(query), *_conditions(s, filters))


def search(
    s: Session, q: str, filters: dict[str, Any] | None = None, limit: int = 20, offset: int = 0
) -> SearchResult:
    """Resources matching every word of `q` (all of them when `q` has no words) and the filters, best first,
    with facet counts over the whole match set. `status` defaults to published; `class_code` is a prefix."""
    terms = query_terms(q or "")
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    key = (s.get_bind().engine.url, tuple(terms), tuple(sorted(filters.items())), limit, offset)
    if CACHE_SIZE:
        key = (_generation(s), *key)
    answer = _recall(key)
    if answer is None:
        answer = _compute(s, terms, filters, limit, offset)
        _remember(key, answer)
    total, ranked, facets = answer
    found = {r.id: r for r in s.scalars(select(Resource).where(Resource.id.in_([rid for rid, _ in ranked])))}
    hits = []
    for rid, rank in ranked:
        if rid in found:
            found[rid].rank = rank
            hits.append(found[rid])
    return SearchResult(total=total, hits=hits, facets=facets, terms=terms)


def _compute(s: Session, terms: list[str], filters: dict, limit: int, offset: int) -> tuple:
    """(total, [(resource id, rank)] of the page, facets)."""
    matched = _matches(s.get_bind().dialect.name, terms, filters).subquery("hits")
    order = (matched.c.score.desc(), matched.c.rid) if terms else (matched.c.rid,)
    page = s.execute(select(matched.c.rid, matched.c.score).order_by(*order).limit(limit).offset(offset))
    ranked = [(rid, float(score or 0.0)) for rid, score in page]
    facets = _facets(s, matched)
    return sum(n for _, n in facets["share_type"]), ranked, facets


def _facets(s: Session, matched: Any) -> dict[str, list[tuple[str, int]]]:
    """Every facet's counts in one statement: the match set materialised once, grouped six ways."""
    hit = (
        select(
            cast(matched.c.provider_org_id, String).label("provider_org_id"),
            func.substr(matched.c.class_code, 1, 1).label("class"),
            *(matched.c[c] for c in ("share_type", "grade", "format", "update_cycle")),
        )
        .cte("hit")
        .prefix_with("MATERIALIZED")
    )
    parts = [
        select(literal(name).label("facet"), hit.c[name].label("value"), func.count().label("n")).group_by(
            hit.c[name]
        )
        for name in FACETS
    ]
    out: dict[str, list[tuple[str, int]]] = {name: [] for name in FACETS}
    for facet, value, n in s.execute(union_all(*parts)):
        out[facet].append((str(value), int(n)))
    for name in FACETS:
        out[name].sort(key=lambda vn: (-vn[1], vn[0]))
    return out


# --- the answer cache, keyed by the generation the session sees: a write (committed or not) changes it to a
# random value, so no later reader meets an answer computed before a change it can see ---------------------

_answers: OrderedDict[tuple, tuple] = OrderedDict()


def _generation(s: Session) -> int:
    return int(s.execute(text("SELECT generation FROM catalog_search_state WHERE id = 1")).scalar() or 0)


def _recall(key: tuple) -> tuple | None:
    if not CACHE_SIZE:
        return None
    with _lock:
        answer = _answers.get(key)
        if answer is not None:
            _answers.move_to_end(key)
        return answer


def _remember(key: tuple, answer: tuple) -> None:
    if not CACHE_SIZE:
        return
    with _lock:
        _answers[key] = answer
        while len(_answers) > CACHE_SIZE:
            _answers.popitem(last=False)


def labels(s: Session, facets: dict[str, Iterable[tuple[str, int]]]) -> dict[str, dict[str, str]]:
    """Display names of the facet values that are ids: providers' and classes' names."""
    orgs = [int(v) for v, _ in facets.get("provider_org_id", ())]
    classes = [v for v, _ in facets.get("class", ())]
    out: dict[str, dict[str, str]] = {"provider_org_id": {}, "class": {}}
    if orgs:
        for i, name in s.execute(select(Org.id, Org.name).where(Org.id.in_(orgs))):
            out["provider_org_id"][str(i)] = name
    if classes:
        found = s.execute(select(CatalogClass.code, CatalogClass.name).where(CatalogClass.code.in_(classes)))
        out["class"] = dict(found.all())
    return out
