"""The words of one-stop services: item types, case statuses, pause reasons, accepted file formats."""

from __future__ import annotations

# 政务服务事项类型 (GB/T 39554.1-2020 lists the kinds of administrative power and public services)
ITEM_KINDS = {
    "license": "行政许可",
    "confirmation": "行政确认",
    "benefit": "行政给付",
    "award": "行政奖励",
    "adjudication": "行政裁决",
    "levy": "行政征收",
    "other_power": "其他行政权力",
    "public_service": "公共服务",
}

CASE_STATUS = {
    "submitted": "待受理",
    "correcting": "待补正",
    "in_progress": "办理中",
    "suspended": "暂停计时",  # hearing, testing, inspection, quarantine, expert review
    "delivering": "待送达",
    "completed": "已办结",
    "refused": "不予受理",
    "rejected": "不予许可",
    "terminated": "已终止",
}
OPEN_STATUSES = ("submitted", "correcting", "in_progress", "suspended", "delivering")
FINAL_STATUSES = ("completed", "refused", "rejected", "terminated")

# time excluded from the limits (行政许可法 Art. 45), plus corrections asked of the applicant (补正)
PAUSE_REASONS = {
    "correction": "补正材料",
    "hearing": "听证",
    "testing": "检验检测",
    "inspection": "检查勘验",
    "quarantine": "检疫",
    "expert_review": "专家评审",
}

TASK_STATUS = {
    "open": "待办",
    "approved": "同意",
    "rejected": "不同意",
    "cancelled": "已撤销",
    "done": "已完成",
}
DELIVERY = {"online": "网上送达", "window": "窗口领取", "mail": "邮寄送达"}
FIELD_TYPES = ("text", "number", "date", "phone", "id_number", "credit_code")

# accepted material formats: extension → the first bytes a real file of that kind starts with
ZIP = (b"PK\x03\x04",)
OLE = (b"\xd0\xcf\x11\xe0",)
FORMATS: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF",),
    "ofd": ZIP,  # GB/T 33190 OFD is a zip package
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "docx": ZIP,
    "xlsx": ZIP,
    "doc": OLE,
    "xls": OLE,
    "zip": ZIP,
}


def key_for(options: dict[str, str], value: str) -> str | None:
    """The key of `value`, given as the key itself or its Chinese label."""
    value = (value or "").strip()
    if value in options:
        return value
    return next((k for k, label in options.items() if label == value), None)
