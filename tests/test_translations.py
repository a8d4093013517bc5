"""Every module's English catalogue merges into one dictionary, so one Chinese text must not carry two
English translations: the one loaded last would silently win on the other module's pages."""

from __future__ import annotations

import json
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "zhicheng"


def test_one_english_per_chinese_text() -> None:
    seen: dict[str, dict[str, str]] = {}
    for path in sorted(SRC.rglob("locales/en.json")):
        for zh, en in json.loads(path.read_text(encoding="utf-8")).items():
            seen.setdefault(zh, {})[en] = str(path.relative_to(SRC))
    clashes = {zh: by for zh, by in seen.items() if len(by) > 1}
    assert len(seen) > 100
    assert clashes == {}
