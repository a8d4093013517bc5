from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core.db import Base, BigId, UTCDateTime


class AuditRecord(Base):
    """One audited change. `seq`, `prev_hash` and `hash` are set when the sealer chains it.

    Appending is a plain INSERT inside the writer's own transaction (so concurrent writers never queue on
    the chain head); the sealer then chains committed records in batches, in the order it finds them.
    """

    __tablename__ = "audit_record"
    __audit_exempt__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(160), nullable=False)
    user_id: Mapped[int | None] = mapped_column(Integer)
    org_id: Mapped[int | None] = mapped_column(Integer)
    tag: Mapped[str] = mapped_column(String(120), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    change: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON, exactly what was digested
    change_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_record_unsealed", "id", sqlite_where=seq.is_(None), postgresql_where=seq.is_(None)),
        Index("ix_audit_record_tag_at", "tag", "at"),
        Index("ix_audit_record_subject", "subject"),
        Index("ix_audit_record_at", "at"),
    )
