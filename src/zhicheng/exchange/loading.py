"""Uploaded files into a hosted dataset: CSV, Excel (.xlsx) and JSON, with a row-by-row report.

    CSV    UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else GB18030, the
           superset of the GBK that Excel on Chinese Windows writes; each is tried strictly, and a file that
           is none of them is refused whole rather than loaded as mojibake. Comma or tab separated.
    XLSX   the first sheet, read in openpyxl's streaming mode; cached values of formulas
    JSON   an array of objects, {"records": [...]} or CKAN's {"result": {"records": [...]}}

Row 1 of a sheet names the items. A column that is not an item is reported and ignored, an item without a
column is left empty (the catalog says nothing of required items), and a file in which no column is an item
is refused. Rows are read lazily and handed to services.load_rows, which validates them and loads the good
ones in one transaction, so a large CSV is held once (as the validated rows), not also as text and dicts.
Report rows are the ones the user sees: the spreadsheet's row (header = 1), the record's place in JSON.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import json
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from zhicheng.core.audit.chain import sm3_hex
from zhicheng.core.db import UnitOfWork
from zhicheng.core.errors import DomainError, Invalid
from zhicheng.exchange import services
from zhicheng.exchange.models import DataLoad

MAX_BYTES = 200 * 1024 * 1024  # CSV and XLSX: streamed
MAX_JSON_BYTES = 50 * 1024 * 1024  # JSON is parsed whole
READ_CHUNK = 1 << 20
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
FORMATS = ("csv", "xlsx", "json")


class TooLarge(DomainError):
    status = 413
    code = "too-large"
    title_zh = "文件过大"
    title_en = "File too large"


class Digest:
    """SM3 of a stream, fed in chunks (OpenSSL's SM3 when present, else gmssl over the whole)."""

    def __init__(self) -> None:
        try:
            self._h: Any = hashlib.new("sm3")
        except ValueError:
            self._h, self._buf = None, bytearray()

    def update(self, data: bytes) -> None:
        if self._h is not None:
            self._h.update(data)
        else:
            self._buf += data

    def hexdigest(self) -> str:
        return self._h.hexdigest() if self._h is not None else sm3_hex(bytes(self._buf))


def note(row: int | None, item: str, zh: str, en: str) -> dict[str, Any]:
    """A line of a load's report, shaped like the problems of services.Validation."""
    return {"row": row, "item": item, "zh": zh, "en": en}


def _head(text: Any) -> str:
    """A header cell as an item name: trimmed, without a BOM or the * templates put on required columns."""
    return str(text if text is not None else "").replace("\ufeff", "").strip().rstrip("*＊").strip()


def match_header(
    cells: Iterable[Any], items: list[str], row: int | None = 1
) -> tuple[dict[int, str], list[dict[str, Any]]]:
    """Column index → item for a header row, and the report's notes on it. Invalid when no column is an
    item (a wrong file, or a garbled header) or when one item has two columns (which one would count?)."""
    known, columns, notes = set(items), {}, []
    for i, cell in enumerate(cells):
        name = _head(cell)
        if not name or name.startswith("_"):  # blank columns; _id and friends from CKAN exports
            continue
        if name not in known:
            notes.append(
                note(
                    1,
                    name,
                    f"列“{name}”不是该资源的信息项，已忽略",
                    f"column '{name}' is not an item; ignored",
                )
            )
        elif name in columns.values():
            raise Invalid(f"信息项“{name}”有两列", f"the item '{name}' has two columns")
        else:
            columns[i] = name
    if not columns:
        raise Invalid(
            "表头中没有该资源的任何信息项（若表头是乱码，请以 UTF-8 或 GBK 编码保存），未导入",
            "no column of the header is an item of the resource (if it is garbled, save as UTF-8 or GBK); "
            "nothing was loaded",
        )
    notes += [_missing(row, name) for name in items if name not in columns.values()]
    return columns, notes


def _missing(row: int | None, name: str) -> dict[str, Any]:
    return note(
        row, name, f"没有信息项“{name}”的数据，该项为空", f"no data for the item '{name}'; left empty"
    )


class Keys:
    """The keys of JSON records checked against the items as the records stream by (files and pulls)."""

    def __init__(self, items: list[str]) -> None:
        self.items = items
        self.known: set[str] = set(items)
        self.seen: set[str] = set()
        self.unknown: set[str] = set()
        self.notes: list[dict[str, Any]] = []

    def row(self, number: int, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise Invalid(
                f"第 {number} 条记录不是 JSON 对象", f"record {number} is not a JSON object", row=number
            )
        out = {}
        for key, value in record.items():
            if key in self.known:
                out[key] = _flat(value)
                self.seen.add(key)
            elif key not in self.unknown and not str(key).startswith("_"):
                self.unknown.add(key)
                self.notes.append(
                    note(
                        number,
                        key,
                        f"字段“{key}”不是该资源的信息项，已忽略",
                        f"key '{key}' is not an item; ignored",
                    )
                )
        return out

    def finish(self, read: int) -> None:
        """After the last record: refuse records none of whose keys is an item; note the items never seen."""
        if read and not self.seen:
            raise Invalid(
                "记录中没有该资源的任何信息项，未导入",
                "no key of the records is an item of the resource; nothing loaded",
            )
        self.notes += [_missing(None, name) for name in self.items if name not in self.seen]


def _flat(value: Any) -> Any:
    # a nested value is taken as its JSON text: right for a text item, reported for any other type
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def records_of(body: Any) -> list[Any] | None:
    """The rows of a JSON answer: an array, {"records": [...]} or CKAN's {"result": {"records": [...]}}."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        inner = body.get("result") if isinstance(body.get("result"), dict) else body
        if isinstance(inner.get("records"), list):
            return inner["records"]
    return None


class RowNumbers:
    """services.Validation numbers the rows it is given 1, 2, 3…; a sheet skips its header and blank rows.
    This keeps the few places where the two part, to put the sheet's own numbers in the report."""

    def __init__(self, first: int) -> None:
        self.first = first
        self.starts: list[int] = []
        self.offsets: list[int] = []

    def wrap(self, numbered: Iterator[tuple[int, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
        seq, offset = self.first, 0
        for number, row in numbered:
            if number - seq != offset:
                offset = number - seq
                self.starts.append(seq)
                self.offsets.append(offset)
            yield row
            seq += 1

    def real(self, n: int) -> int:
        i = bisect_right(self.starts, n) - 1
        return n + (self.offsets[i] if i >= 0 else 0)


@dataclass
class Parsed:
    fmt: str
    encoding: str | None
    rows: Iterator[dict[str, Any]]  # keyed by item name, lazily
    notes: list[dict[str, Any]]  # the report's head: the header's problems (JSON: filled while reading)
    numbers: RowNumbers = field(default_factory=lambda: RowNumbers(2))


# ---------------------------------------------------------------- the file as a whole


def detect(head: bytes, filename: str) -> str:
    """csv | xlsx | json, from the name and the first bytes; the old binary .xls is refused."""
    name = filename.lower()
    if head.startswith(XLS_MAGIC) or name.endswith(".xls"):
        raise Invalid(
            "不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx 或 CSV",
            "the old .xls format is not supported; save as .xlsx or CSV in Excel",
        )
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if name.endswith((".xlsx", ".xlsm")):
        raise Invalid("不是有效的 .xlsx 文件", "not a valid .xlsx file")
    if name.endswith(".json"):
        return "json"
    if not name.endswith((".csv", ".txt", ".tsv")) and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (
        b"[",
        b"{",
    ):
        return "json"
    return "csv"


def scan(fh: IO[bytes], text: bool) -> tuple[str, str | None]:
    """One pass over the file: its SM3 digest and, for text, the encoding that decodes all of it."""
    digest = Digest()
    decoders: dict[str, Any] = {}
    first = True
    while chunk := fh.read(READ_CHUNK):
        digest.update(chunk)
        if text:
            if first:
                utf16 = chunk.startswith((b"\xff\xfe", b"\xfe\xff"))
                names = ["utf-16"] if utf16 else ["utf-8-sig", "gb18030"]
                decoders = {n: codecs.getincrementaldecoder(n)("strict") for n in names}
            for name in list(decoders):
                try:
                    if "\x00" in decoders[name].decode(chunk):
                        raise UnicodeDecodeError(name, b"", 0, 1, "NUL")
                except UnicodeDecodeError:
                    del decoders[name]
        first = False
    for name in list(decoders):
        try:
            decoders[name].decode(b"", final=True)
        except UnicodeDecodeError:
            del decoders[name]
    fh.seek(0)
    if text and not decoders:
        raise Invalid(
            "无法识别文件编码：请以 UTF-8 或 GBK（GB18030）编码保存，或改用 .xlsx；未导入",
            "unknown text encoding: save the file as UTF-8 or GBK (GB18030), or use .xlsx; nothing loaded",
        )
    return digest.hexdigest(), next(iter(decoders), None)


def size_of(fh: IO[bytes]) -> int:
    fh.seek(0, io.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    return size


def read(fh: IO[bytes], fmt: str, encoding: str | None, items: list[str]) -> Parsed:
    """The rows of a scanned file. The header (and for JSON, every record's shape) is checked here, before
    anything is loaded; data rows are read as the loader asks for them."""
    if fmt == "xlsx":
        cells = _xlsx(fh)
        first_row = 2
    elif fmt == "csv":
        cells = _csv(fh, encoding or "utf-8-sig")
        first_row = 2
    else:
        return _json(fh, encoding, items)
    try:
        number, header = next(cells)
    except StopIteration:
        raise Invalid("文件为空或没有表头", "the file is empty or has no header row") from None
    if number != 1 or not any(_head(c) for c in header):
        raise Invalid("第 1 行应为表头，但它是空的", "row 1 must be the header row but it is empty")
    columns, notes = match_header(header, items)
    rows = _data_rows(cells, columns)
    try:
        first = next(rows)
    except StopIteration:
        raise Invalid("文件只有表头，没有数据行", "the file has a header but no data rows") from None
    numbers = RowNumbers(first_row)
    return Parsed(fmt, encoding, numbers.wrap(itertools.chain([first], rows)), notes, numbers)


def _data_rows(
    cells: Iterator[tuple[int, list[Any]]], columns: dict[int, str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, item → cell) for each row with something in an item's column; blank rows are skipped."""
    for number, cells_of_row in cells:
        row = {item: (cells_of_row[i] if i < len(cells_of_row) else None) for i, item in columns.items()}
        if any(v is not None and str(v).strip() for v in row.values()):
            yield number, row


def _csv(fh: IO[bytes], encoding: str) -> Iterator[tuple[int, list[str]]]:
    codec = "utf-8-sig" if encoding in ("utf-8", "utf-8-sig") else encoding
    text = io.TextIOWrapper(fh, encoding=codec, newline="")  # type: ignore[type-var]
    number = 0
    try:
        first = text.readline()
        delimiter = "\t" if "\t" in first and "," not in first else ","
        for number, row in enumerate(csv.reader(itertools.chain([first], text), delimiter=delimiter), 1):
            yield number, row
    except csv.Error as exc:
        raise Invalid(
            f"CSV 第 {number + 1} 行无法解析：{exc}；未导入",
            f"CSV row {number + 1} cannot be parsed: {exc}; nothing loaded",
        ) from None
    finally:
        text.detach()  # the caller's file stays open


def _xlsx(fh: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    book = None
    try:
        book = load_workbook(fh, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers store wrong dimensions; read what is really there
        # read-only sheets yield the blank rows between filled ones too, so the count is the sheet's row
        for number, row in enumerate(sheet.iter_rows(values_only=True), 1):
            yield number, list(row)
    except Invalid:
        raise
    except Exception as exc:  # zip, XML and openpyxl errors all mean the same to the user
        raise Invalid(
            f"无法读取 .xlsx 文件：{type(exc).__name__}；未导入",
            f"cannot read the .xlsx file: {type(exc).__name__}; nothing loaded",
        ) from exc
    finally:
        if book is not None:
            book.close()


def _json(fh: IO[bytes], encoding: str | None, items: list[str]) -> Parsed:
    data = fh.read()
    try:
        body = (
            orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
            if encoding in (None, "utf-8", "utf-8-sig")
            else (json.loads(data.decode(encoding)))
        )
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise Invalid(f"不是有效的 JSON：{exc}", f"not valid JSON: {exc}") from None
    records = records_of(body)
    if records is None:
        raise Invalid(
            'JSON 应为对象数组，或 {"records": [...]}',
            'JSON must be an array of objects or {"records": [...]}',
        )
    if not records:
        raise Invalid("文件中没有记录", "the file holds no records")
    keys = Keys(items)
    rows = [keys.row(n, r) for n, r in enumerate(records, 1)]  # the shape is checked before anything loads
    keys.finish(len(rows))
    return Parsed("json", encoding, iter(rows), keys.notes, RowNumbers(1))


# ---------------------------------------------------------------- the load


def refuse_emptying(load: DataLoad, before: int, zh: str, en: str) -> None:
    """A full load that would replace rows with none (every row rejected, or nothing came) is refused and
    rolled back: the previous rows stay. Raised inside the load's transaction; `zh`/`en` name the source."""
    if load.mode == "full" and load.rows_loaded == 0 and before > 0:
        raise Invalid(
            f"{zh}没有一行通过校验（读取 {load.rows_read} 行），原有 {before} 行数据保留，未导入",
            f"no row of the {en} passed validation ({load.rows_read} read); "
            f"the previous {before} rows are kept",
            report=load.report[:50],
        )


def load_file(uow: UnitOfWork, dataset_id: int, fh: IO[bytes], filename: str, mode: str) -> DataLoad:
    """Load an uploaded file (a seekable binary stream) into a hosted dataset; returns the load and its
    report. Invalid (nothing loaded) for a file that cannot be read as a whole."""
    if mode not in ("full", "incremental"):
        raise Invalid("导入方式应为 full 或 incremental", "mode must be full or incremental", field="mode")
    ds = services.hosted(uow, dataset_id)
    size = size_of(fh)
    if size == 0:
        raise Invalid("文件为空", "the file is empty")
    head = fh.read(8)
    fh.seek(0)
    fmt = detect(head, filename)
    limit = MAX_JSON_BYTES if fmt == "json" else MAX_BYTES
    if size > limit:
        mb = limit // (1024 * 1024)
        raise TooLarge(
            f"文件超过 {mb} MB，请拆分后分批以增量方式导入",
            f"the file is larger than {mb} MB; split it and load the parts incrementally",
        )
    digest, encoding = scan(fh, text=fmt != "xlsx")
    parsed = read(fh, fmt, encoding, [c["item"] for c in ds.columns])
    before = ds.row_count
    load = services.load_rows(
        uow,
        ds.id,
        parsed.rows,
        mode=mode,
        source="upload",
        fmt=fmt,
        filename=filename,
        digest=digest,
        report=parsed.notes,
        first_row=parsed.numbers.first,
    )
    renumber(load, len(parsed.notes), parsed.numbers)
    refuse_emptying(load, before, "文件", "file")
    return load


def renumber(load: DataLoad, skip: int, numbers: RowNumbers) -> None:
    """Put the sheet's own row numbers into the rows' part of the report (after the `skip` header notes)."""
    if not numbers.starts:
        return
    load.report = load.report[:skip] + [
        {**p, "row": numbers.real(p["row"])} if isinstance(p.get("row"), int) else p
        for p in load.report[skip:]
    ]


def summary(load: DataLoad) -> tuple[str, str]:
    """One line for the CLI and the console: read, loaded, rejected."""
    return (
        f"读取 {load.rows_read} 行，导入 {load.rows_loaded} 行，拒绝 {load.rows_rejected} 行",
        f"read {load.rows_read}, loaded {load.rows_loaded}, rejected {load.rows_rejected}",
    )
