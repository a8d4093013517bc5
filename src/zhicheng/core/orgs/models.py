from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core.db import Base, UTCDateTime


class Division(Base):
    """An administrative division (行政区划), GB/T 2260 code; streets 9 digits, communities 12."""

    __tablename__ = "division"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"), index=True)


class Org(Base):
    """A government or department. `parent_id` is its 块 place (the tree permissions are scoped to);
    `line_parent_id` its 条 line to the department above."""

    __tablename__ = "org"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    short_name: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # government | department | institution
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("division.code"), nullable=False, index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    line_parent_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    path: Mapped[str] = mapped_column(String(200), nullable=False, index=True)  # "/1/7/42/"
    active: Mapped[bool] = mapped_column(default=True, nullable=False)


class Party(Base):
    """A citizen (resident ID number) or an enterprise (unified social credit code)."""

    __tablename__ = "party"
    __table_args__ = (UniqueConstraint("kind", "id_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # citizen | enterprise
    id_number: Mapped[str] = mapped_column(String(18), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(20))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(40))
