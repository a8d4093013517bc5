"""Grid codes, Beijing's local rule: 6 digits district + 3 street + 3 community + 3 grid = 15 digits. The
first 12 digits are GB/T 2260 division codes (county, street, community), so a grid code must fit the
divisions core.orgs knows: its district must be a known county-level division; its street must be a known
street of that district whenever core.orgs lists the district's streets, and likewise its community."""

from __future__ import annotations

from dataclasses import dataclass

from zhicheng.core.errors import DomainError, Invalid
from zhicheng.core.orgs import codes as division_codes

LENGTH = 15


@dataclass(frozen=True)
class GridCode:
    code: str

    @property
    def district(self) -> str:
        return self.code[:6]

    @property
    def street(self) -> str:
        return self.code[:9]

    @property
    def community(self) -> str:
        return self.code[:12]

    @property
    def number(self) -> str:
        return self.code[12:]


def parse(value: object) -> GridCode:
    """A 15-digit grid code (a JSON number is taken as its digits), or Invalid saying which part is wrong."""
    code = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(code, str) or len(code.strip()) != LENGTH or not code.strip().isdigit():
        raise Invalid(
            f"网格编码应为 15 位数字（区 6 + 街道 3 + 社区 3 + 网格 3）：{value!r}",
            f"a grid code is 15 digits (district 6 + street 3 + community 3 + grid 3): {value!r}",
        )
    g = GridCode(code.strip())
    try:
        level = division_codes.division_level(g.district)
    except DomainError:
        level = None
    if level != "county":
        raise Invalid(
            f"网格编码前 6 位应为区县级行政区划代码：{g.district}",
            f"the first 6 digits of a grid code must be a county-level division code: {g.district}",
        )
    for part, zh, en in (
        (g.code[6:9], "街道", "street"),
        (g.code[9:12], "社区", "community"),
        (g.number, "网格", "grid"),
    ):
        if part == "000":
            raise Invalid(
                f"网格编码的{zh}部分不能为 000：{g.code}",
                f"the {en} part of a grid code cannot be 000: {g.code}",
            )
    return g


def fit(g: GridCode, known: dict[str, str | None]) -> None:
    """Check the code against the divisions core.orgs knows. `known` maps division code → parent code for
    the divisions of the districts concerned (every level)."""
    if g.district not in known:
        raise Invalid(
            f"区县 {g.district} 不是已登记的行政区划", f"district {g.district} is not a registered division"
        )
    streets = {c for c, parent in known.items() if parent == g.district and len(c) == 9}
    if streets and g.street not in streets:
        raise Invalid(
            f"街道 {g.street} 不是区县 {g.district} 已登记的街道",
            f"street {g.street} is not a registered street of district {g.district}",
        )
    communities = {c for c, parent in known.items() if parent == g.street and len(c) == 12}
    if communities and g.community not in communities:
        raise Invalid(
            f"社区 {g.community} 不是街道 {g.street} 已登记的社区",
            f"community {g.community} is not a registered community of street {g.street}",
        )
