"""Real-name verification (实名核验) behind one interface; production plugs in the provincial service."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

HAN_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,20}$")


@dataclass(frozen=True)
class Verification:
    ok: bool
    provider: str
    reason: str = ""


class RealNameVerifier(Protocol):
    name: str

    def verify(self, kind: str, id_number: str, name: str) -> Verification: ...


class DemoVerifier:
    """Accepts a checksum-valid number with a plausible Chinese name; rejects names containing 假 (fake),
    so the refused path can be shown in the demo and tested."""

    name = "demo"

    def verify(self, kind: str, id_number: str, name: str) -> Verification:
        if not HAN_NAME.match(name) and kind == "citizen":
            return Verification(False, self.name, "姓名应为中文 / name must be in Chinese characters")
        if "假" in name:
            return Verification(False, self.name, "姓名与证件号码不一致 / name does not match the number")
        return Verification(True, self.name)


PROVIDERS: dict[str, type] = {"demo": DemoVerifier}


def verifier(provider: str) -> RealNameVerifier:
    try:
        return PROVIDERS[provider]()
    except KeyError:
        raise ValueError(f"unknown real-name provider {provider!r}; known: {sorted(PROVIDERS)}") from None
