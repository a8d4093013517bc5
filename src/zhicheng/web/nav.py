"""The navigation registry: modules add their console entries; each shows only to those allowed."""

from __future__ import annotations

from dataclasses import dataclass

from zhicheng.core.auth.principal import Principal


@dataclass(frozen=True)
class NavItem:
    section: str  # a Chinese section label, translated like any other text
    label: str
    path: str
    permission: str
    order: int = 100


ITEMS: list[NavItem] = []


def add(section: str, label: str, path: str, permission: str, order: int = 100) -> None:
    if not any(i.path == path for i in ITEMS):
        ITEMS.append(NavItem(section, label, path, permission, order))


def visible(principal: Principal) -> list[tuple[str, list[NavItem]]]:
    sections: dict[str, list[NavItem]] = {}
    for item in sorted(ITEMS, key=lambda i: (i.order, i.path)):
        if principal.can(item.permission):
            sections.setdefault(item.section, []).append(item)
    return list(sections.items())
