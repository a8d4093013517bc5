"""What the catalog's tests share: a small classification to catalogue under."""

from __future__ import annotations

import pytest

from zhicheng.catalog import services
from zhicheng.catalog.schemas import ClassIn
from zhicheng.core.db import Actor, unit_of_work

CLASSES = [
    ("1", "基础信息资源"),
    ("101", "人口基础信息"),
    ("101001", "户籍人口"),
    ("2", "主题信息资源"),
    ("201", "市场监管"),
    ("201001", "企业登记"),
]


@pytest.fixture
def classes(db) -> None:  # noqa: ANN001
    with unit_of_work(db, Actor(kind="cli", name="tester")) as uow:
        for code, name in CLASSES:
            services.create_class(uow, ClassIn(code=code, name=name))
