"""The words of the closed loop: channels, statuses, the steps allowed from each status, photo types."""

from __future__ import annotations

CHANNELS = {
    "hotline": "12345 热线",
    "grid": "网格员上报",
    "sensor": "物联感知",
    "drone": "无人机巡查",
    "video": "视频智能识别",
    "open311": "Open311",
    "app": "市民 App",
}
KINDS = {"part": "部件", "event": "事件"}

STATUSES = {
    "reported": "待立案",
    "registered": "已立案",
    "cancelled": "不予立案",
    "dispatched": "已派遣",
    "handling": "处置中",
    "handled": "已反馈",
    "returned": "已退回",
    "disputed": "争议",
    "rework": "返工",
    "closed": "已结案",
    "evaluated": "已评价",
}
# duplicates merge only into these (a closed or cancelled case is history: a new report opens a new case)
OPEN = ("reported", "registered", "dispatched", "handling", "handled", "returned", "disputed", "rework")
# the department's clock runs in these
HANDLING = ("dispatched", "handling", "rework")
# the loop: action → (statuses it may start from, the status it leaves, the event kind)
STEPS: dict[str, tuple[tuple[str, ...], str]] = {
    "register": (("reported",), "registered"),
    "cancel": (("reported",), "cancelled"),
    "dispatch": (("registered", "returned", "disputed"), "dispatched"),
    "accept": (("dispatched", "rework"), "handling"),
    "feedback": (("dispatched", "handling", "rework"), "handled"),
    "verify": (("handled",), "closed"),
    "reject": (("handled",), "rework"),
    "evaluate": (("closed",), "evaluated"),
    "return": (("dispatched", "handling"), "returned"),
    "dispute": (("dispatched", "handling", "rework"), "disputed"),
}
EVENT_LABELS = {
    "reported": "上报",
    "merged": "合并上报",
    "register": "立案",
    "cancel": "不予立案",
    "dispatch": "派遣",
    "accept": "接单处置",
    "feedback": "处置反馈",
    "verify": "核查通过，结案",
    "reject": "核查未通过，返工",
    "evaluate": "综合评价",
    "return": "退回指挥中心",
    "dispute": "提出争议",
    "extension_request": "申请延期",
    "extension_grant": "批准延期",
    "extension_refuse": "不批准延期",
    "callback": "回访",
    "comment": "留言",
    "escalated": "超期督办",
    "sensor_normal": "传感器读数恢复正常",
    "photo": "上传照片",
}
EVALUATIONS = ("excellent", "good", "poor")
PHOTO_STAGES = ("report", "before", "after")
# magic bytes → media type; photos are JPEG, PNG or WebP (checked by content, not by name)
IMAGE_TYPES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
H3_RES = 10  # cells of about 15,000 m² (edge ~66 m): the duplicate search covers the radius with a k-ring
