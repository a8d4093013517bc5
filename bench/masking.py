"""Masking throughput: values masked per second over 1,000,000 mixed values, in 100-row pages.

Pure CPU, no database. Builds 100,000 synthetic people rows of 10 columns (an integer key, name, resident ID
with a valid check digit, mobile or fixed-line phone, address, gender, birth date, employer, a free-text
note, a "none" amount) — 1,000,000 values, of which 5 per row are sensitive — with a sprinkling of odd
input (None, "", full-width digits, padded, short values). The exchange API compiles a masker per request
and masks a 100-row page, so each page here pays for its own `compile_masker` too.

Reported per profile (standard, strict, open): values/s and rows/s over the whole table, and the best of
`--repeat` runs; then each rule alone over its own column (values/s), and a plain dict copy of the same rows
as the floor (what a projection without masking costs).

    .venv/bin/python bench/masking.py [--values 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

from zhicheng.sharing.masking import BUILTIN, RULES, compile_masker  # noqa: E402

COLUMNS = 10
PAGE = 100
ITEMS = {
    "id": "none",
    "姓名": "name",
    "身份证号": "id_number",
    "联系电话": "phone",
    "住址": "address",
    "性别": "none",
    "出生日期": "none",
    "工作单位": "none",
    "备注": "other",
    "金额": "none",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
COMPOUND = ["欧阳", "司马", "诸葛", "上官"]
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
DISTRICTS = [
    "玄武区",
    "秦淮区",
    "建邺区",
    "鼓楼区",
    "浦口区",
    "栖霞区",
    "雨花台区",
    "江宁区",
    "六合区",
    "溧水区",
]
STREETS = ["中山路", "北京东路", "汉中路", "珠江路", "秣陵街道", "龙江街道", "湖南路", "淳化街道"]
FULL = str.maketrans("0123456789", "０１２３４５６７８９")
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _resident_id(rnd: random.Random) -> str:
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rnd.randrange(25000))
    body = f"3201{rnd.randrange(1, 20):02d}{birth:%Y%m%d}{rnd.randrange(1000):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _W, strict=True)) % 11]


def _odd(rnd: random.Random, value: Any) -> Any:
    """About 3% of sensitive values are odd: None, "", padded, full-width, or too short."""
    r = rnd.random()
    if r > 0.03:
        return value
    return rnd.choice([None, "", f"  {value} ", str(value).translate(FULL), str(value)[:4]])


def rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        surname = rnd.choice(COMPOUND) if rnd.random() < 0.02 else rnd.choice(SURNAMES)
        phone = (
            f"1{rnd.choice('3456789')}{rnd.randrange(10**9):09d}"
            if rnd.random() < 0.85
            else f"025-{rnd.randrange(10**7, 10**8)}"
        )
        out.append(
            {
                "id": i + 1,
                "姓名": _odd(rnd, surname + "".join(rnd.choices(GIVEN, k=rnd.choice((1, 2))))),
                "身份证号": _odd(rnd, _resident_id(rnd)),
                "联系电话": _odd(rnd, phone),
                "住址": _odd(
                    rnd,
                    f"江苏省南京市{rnd.choice(DISTRICTS)}{rnd.choice(STREETS)}{rnd.randrange(1, 400)}号"
                    f"{rnd.randrange(1, 30)}栋{rnd.randrange(101, 2400)}室",
                ),
                "性别": rnd.choice("男女"),
                "出生日期": dt.date(1950, 1, 1) + dt.timedelta(days=rnd.randrange(25000)),
                "工作单位": "南京市某某有限公司",
                "备注": _odd(rnd, rnd.choice(["低保户", "残疾人", "退役军人", "独居老人"])),
                "金额": rnd.randrange(100000) / 100,
            }
        )
    return out


def _time_pages(table: list[dict[str, Any]], profile_name: str) -> float:
    profile = BUILTIN[profile_name]
    start = time.perf_counter()
    for p in range(0, len(table), PAGE):
        mask = compile_masker(ITEMS, profile)  # once per request, as the exchange does
        [mask(r) for r in table[p : p + PAGE]]
    return time.perf_counter() - start


def _time_copy(table: list[dict[str, Any]]) -> float:
    cols = tuple(ITEMS)
    start = time.perf_counter()
    [{c: r[c] for c in cols if c in r} for r in table]
    return time.perf_counter() - start


def _time_rule(table: list[dict[str, Any]], rule: str, column: str) -> tuple[int, float]:
    fn = RULES[rule]
    values = [r[column] for r in table]
    start = time.perf_counter()
    [fn(v) for v in values]
    return len(values), time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--values", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_rows = max(args.values // COLUMNS, PAGE)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load {load:.1f}, Python {platform.python_version()}")
    t0 = time.perf_counter()
    table = rows(n_rows)
    values = n_rows * COLUMNS
    print(
        f"{n_rows:,} rows × {COLUMNS} columns = {values:,} values (5 sensitive per row); "
        f"generated in {time.perf_counter() - t0:.1f} s; pages of {PAGE} rows, a masker compiled per page"
    )
    print()
    print(f"{'profile':<10} {'best s':>8} {'values/s':>12} {'rows/s':>10}")
    results = {}
    for name in ("standard", "strict", "open"):
        best = min(_time_pages(table, name) for _ in range(args.repeat))
        results[name] = values / best
        print(f"{name:<10} {best:>8.3f} {values / best:>12,.0f} {n_rows / best:>10,.0f}")
    best = min(_time_copy(table) for _ in range(args.repeat))
    print(
        f"{'dict copy':<10} {best:>8.3f} {values / best:>12,.0f} {n_rows / best:>10,.0f}",
        "  (floor: no masking)",
    )
    print()
    print(f"{'rule':<16} {'column':<10} {'values/s':>12}")
    for rule, column in [
        ("phone", "联系电话"),
        ("id_6_4", "身份证号"),
        ("id_1_2", "身份证号"),
        ("name", "姓名"),
        ("all_stars", "姓名"),
        ("address_street", "住址"),
        ("address_region", "住址"),
        ("redact", "备注"),
        ("drop", "备注"),
    ]:
        count, best = min((_time_rule(table, rule, column) for _ in range(args.repeat)), key=lambda t: t[1])
        print(f"{rule:<16} {column:<10} {count / best:>12,.0f}")
    print()
    print(
        f"summary: masking (standard profile), {values:,} mixed values: {results['standard']:,.0f} values/s"
    )


if __name__ == "__main__":
    main()
