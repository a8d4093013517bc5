"""The catalog's controlled vocabularies: stored keys and their Chinese labels (the 2017 guide's terms)."""

from __future__ import annotations

SHARE_TYPES = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}
OPEN_TYPES = {"unconditional": "无条件开放", "conditional": "有条件开放", "none": "不予开放"}
SHARE_MODES = {"api": "接口", "file": "文件", "table": "库表"}
FORMATS = {
    "database": "数据库",
    "spreadsheet": "电子表格",
    "document": "电子文件",
    "image": "图形图像",
    "stream": "流媒体",
    "interface": "接口",
    "other": "其他",
}
UPDATE_CYCLES = {
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "yearly": "每年",
    "irregular": "不定期",
}
# the expected interval of each cycle in days, for timeliness checks (None: no fixed interval)
CYCLE_DAYS = {
    "realtime": 1,
    "daily": 1,
    "weekly": 7,
    "monthly": 31,
    "quarterly": 92,
    "yearly": 366,
    "irregular": None,
}
GRADES = {"general": "一般数据", "important": "重要数据", "core": "核心数据"}
DATA_TYPES = {
    "string": "字符型",
    "integer": "整数型",
    "decimal": "数值型",
    "date": "日期型",
    "datetime": "日期时间型",
    "boolean": "布尔型",
}
SENSITIVITY = {
    "none": "不敏感",
    "name": "姓名",
    "id_number": "证件号码",
    "phone": "电话号码",
    "address": "地址",
    "other": "其他敏感信息",
}
STATUSES = {"published": "已发布", "retired": "已撤销"}
# strictness order of sharing types: an item may be stricter than its resource, never looser than "none"
SHARE_ORDER = {"unconditional": 0, "conditional": 1, "none": 2}


def key_for(vocab: dict[str, str], value: str) -> str | None:
    """Accept a stored key or its Chinese label (spreadsheets carry labels)."""
    value = (value or "").strip()
    if value in vocab:
        return value
    return next((k for k, label in vocab.items() if label == value), None)
