"""Masking rules, profiles and the compiled per-request masker (pure logic, no database)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from zhicheng.catalog.vocab import SENSITIVITY
from zhicheng.sharing import masking as m
from zhicheng.sharing.masking import BUILTIN, OPEN, RULES, STANDARD, STRICT, Profile, compile_masker

FW = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        # phone: mobile, fixed lines, separators, odd input
        ("phone", "13812345678", "138****5678"),
        ("phone", " 13812345678 ", "138****5678"),
        ("phone", "13812345678".translate(FW), "138****5678"),
        ("phone", 13812345678, "138****5678"),
        ("phone", "138-1234-5678", "138-****-5678"),
        ("phone", "138 1234 5678", "138 **** 5678"),
        ("phone", "+86 13812345678", "+86 1******5678"),
        ("phone", "025-84561234", "025-****1234"),
        ("phone", "(0512)68881234", "(0512)****1234"),
        ("phone", "0512 6888123", "0512 ***8123"),
        ("phone", "84561234", "****1234"),
        ("phone", "12345", "*****"),
        ("phone", "1234567", "*******"),
        ("phone", "无", "*"),
        ("phone", True, "****"),
        ("phone", "138****5678", "138****5678"),
        ("phone", "", ""),
        ("phone", "   ", ""),
        ("phone", None, None),
        # resident ID
        ("id_6_4", "110105199001011234", "110105********1234"),
        ("id_6_4", "11010519900101123X", "110105********123X"),
        ("id_6_4", "11010519900101123x", "110105********123x"),
        ("id_6_4", " 110105199001011234".translate(FW), "110105********1234"),
        ("id_6_4", 110105199001011234, "110105********1234"),
        ("id_6_4", "110105900101123", "110105*****1123"),
        ("id_6_4", "E12345678", "*********"),
        ("id_6_4", "1234", "****"),
        ("id_6_4", "110105********1234", "110105********1234"),
        ("id_6_4", None, None),
        ("id_6_4", "", ""),
        ("id_1_2", "110105199001011234", "1***************34"),
        ("id_1_2", "E12345678", "E******78"),
        ("id_1_2", "123456", "******"),
        # names
        ("name", "张三", "张*"),
        ("name", "张三丰", "张**"),
        ("name", " 王小明 ", "王**"),
        ("name", "欧阳修", "欧阳*"),
        ("name", "欧阳娜娜", "欧阳**"),
        ("name", "司马相如", "司马**"),
        ("name", "欧阳", "**"),
        ("name", "张", "*"),
        ("name", "阿依古丽·买买提", "阿***·***"),
        ("name", "John Smith", "J*** *****"),
        ("name", 42, "4*"),
        ("name", "", ""),
        ("name", None, None),
        ("all_stars", "张三", "**"),
        ("all_stars", "阿依古丽·买买提", "****·***"),
        ("all_stars", None, None),
        # addresses
        ("address_street", "江苏省南京市玄武区中山路100号", "江苏省南京市玄武区中山路***"),
        ("address_street", "江苏省南京市江宁区秣陵街道天元中路1号", "江苏省南京市江宁区秣陵街道***"),
        ("address_street", "江苏省苏州市吴江区震泽镇蠡泽村5组", "江苏省苏州市吴江区震泽镇***"),
        ("address_street", "安徽省某某县某某乡某村", "安徽省某某县某某乡***"),
        ("address_street", "南京市鼓楼区北京西路街道", "南京市鼓楼区北京西路***"),
        ("address_street", "南京市翠屏山小区5栋301室", "南京市翠屏山***"),
        ("address_street", "某某大厦1205室", "某某大厦***"),
        ("address_street", "中山路1号", "中山***"),
        ("address_street", "中山路100号2栋", "中山路1***"),
        ("address_street", "  江苏省南京市玄武区中山路100号  ", "江苏省南京市玄武区中山路***"),
        ("address_street", "", ""),
        ("address_street", None, None),
        ("address_region", "江苏省南京市玄武区中山路100号", "江苏省南京市玄武区***"),
        ("address_region", "江苏省某某县某某乡某村", "江苏省某某县***"),
        ("address_region", "南京市中山路1号", "南京市***"),
        ("address_region", "南京市翠屏山小区5栋", "南京市***"),
        ("address_region", "某某大厦1205室", "***"),
        ("address_region", None, None),
        # the rest
        ("redact", "低保户", "***"),
        ("redact", 12, "***"),
        ("redact", "", ""),
        ("redact", None, None),
        ("drop", "低保户", None),
        ("drop", None, None),
        ("keep", 12, 12),
        ("keep", " 原样 ", " 原样 "),
    ],
)
def test_rule(rule: str, value: object, expected: object) -> None:
    assert RULES[rule](value) == expected


def test_keep_returns_non_strings_untouched() -> None:
    day = dt.date(2024, 5, 1)
    assert RULES["keep"](day) is day
    assert m.mask_value(day, "none") is day
    assert m.mask_value(Decimal("1.5"), "none", STRICT) == Decimal("1.5")


ODD = [
    None,
    "",
    " ",
    "\u3000",
    "*",
    "***",
    "-",
    "()",
    0,
    -1,
    3.5,
    float("nan"),
    True,
    Decimal("1E+5"),
    dt.date(2024, 1, 2),
    dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC),
    b"\xff\xfe",
    [1, 2],
    {"a": 1},
    object(),
    "x" * 10_000,
    "区" * 5000 + "路",
    "市" * 3000,
    "\x00\n\t",
    "😀😀😀😀😀😀😀😀😀😀😀",
]


@pytest.mark.parametrize("rule", sorted(RULES))
def test_no_rule_raises_on_odd_input(rule: str) -> None:
    for value in ODD:
        out = RULES[rule](value)
        assert out is None or rule == "keep" or isinstance(out, str)
        assert RULES[rule](out) == out or rule == "keep"  # idempotent on odd input too


# --- properties over generated values --------------------------------------------------------------------

RND = random.Random(20240501)
ALPHABET = "0123456789" * 3 + "０１２３４５６７８９*-() +./·张欧阳区市县路街道镇乡号Xa"


def _random_text(rnd: random.Random) -> str:
    return "".join(rnd.choices(ALPHABET, k=rnd.randrange(0, 24)))


def _mobile(rnd: random.Random) -> str:
    return f"1{rnd.choice('3456789')}{rnd.randrange(10**9):09d}"


def _id(rnd: random.Random) -> str:
    return f"{rnd.randrange(10**16, 10**17)}{rnd.choice('0123456789X')}"


def _norm(value: object) -> str:
    return str(value).translate(m._HALF_WIDTH).strip()


def _revealed(original: str, masked: str) -> int:
    return sum(1 for a, b in zip(original, masked, strict=True) if a == b and a.isalnum())


MOBILES = [_mobile(RND) for _ in range(2000)]
IDS = [_id(RND) for _ in range(2000)]
TEXTS = [_random_text(RND) for _ in range(3000)]


def test_a_masked_mobile_never_keeps_more_than_7_digits_and_keeps_its_length() -> None:
    for v in MOBILES + [" ".join((v[:3], v[3:7], v[7:])) for v in MOBILES[:200]]:
        out = m.phone(v)
        assert len(out) == len(v)
        assert _revealed(v, out) <= 7
        assert out.count("*") >= 4


def test_a_masked_phone_of_any_shape_reveals_little_and_keeps_its_length() -> None:
    for v in TEXTS + [f"0{RND.randrange(10, 1000)}-{RND.randrange(10**6, 10**8)}" for _ in range(500)]:
        norm, out = _norm(v), m.phone(v)
        assert len(out) == len(norm)
        kept = _revealed(norm, out)
        assert kept <= 8  # 8 only for a fixed line with a 4-digit area code and its last 4
        assert kept == 0 or out.count("*") >= 3


def test_a_masked_id_keeps_its_length_and_at_most_its_allowed_ends() -> None:
    for v in IDS + TEXTS:
        norm = _norm(v)
        for rule, allowed in ((m.id_6_4, 10), (m.id_1_2, 3)):
            out = rule(v)
            assert len(out) == len(norm)
            assert _revealed(norm, out) <= allowed
    for v in IDS:
        assert m.id_6_4(v)[6:14] == "*" * 8
        assert m.id_1_2(v)[1:16] == "*" * 15


def test_a_masked_name_keeps_at_most_the_surname() -> None:
    names = [RND.choice(["张", "王", "欧阳", "司马", "李"]) + _random_text(RND)[:3] for _ in range(1000)]
    for v in names + TEXTS:
        norm, out = v.strip(), m.name(v)
        assert len(out) == len(norm)
        kept = 2 if norm[:2] in m.COMPOUND_SURNAMES else 1
        assert out[kept:].strip("*" + "".join(m._SEPARATORS)) == ""
        assert len(norm) > kept or set(out) <= set("*") | m._SEPARATORS


def test_a_masked_address_is_a_prefix_of_the_original_then_stars() -> None:
    addresses = [
        f"江苏省南京市{RND.choice(['玄武区', '江宁区', '溧水区'])}"
        f"{RND.choice(['中山路', '秣陵街道', '东屏镇'])}"
        f"{RND.randrange(1, 400)}号"
        for _ in range(300)
    ]
    for v in addresses + TEXTS:
        norm = v.strip()
        for rule in (m.address_street, m.address_region):
            out = rule(v)
            if not norm:
                assert out == ""
                continue
            assert out.endswith("***")
            assert norm.startswith(out[:-3])
            # all of it only when it is no more than a region or a street (the rule's allowance)
            assert len(out[:-3]) < len(norm) or norm.endswith(("***", *"区县市路街镇乡"))


def test_masking_is_idempotent() -> None:
    values = MOBILES[:300] + IDS[:300] + TEXTS + [" ".join((v[:3], v[3:7], v[7:])) for v in MOBILES[:100]]
    for rule in RULES.values():
        for v in values:
            once = rule(v)
            assert rule(once) == once, (rule.__name__, v, once)


# --- profiles --------------------------------------------------------------------------------------------


def test_builtin_profiles_cover_every_sensitivity() -> None:
    assert set(BUILTIN) == {"standard", "strict", "open"}
    for profile in BUILTIN.values():
        assert set(profile.rules) == set(SENSITIVITY)
    assert STANDARD.rules["id_number"] == "id_6_4" and STRICT.rules["id_number"] == "id_1_2"
    assert set(OPEN.rules.values()) == {"keep"}


@pytest.mark.parametrize(
    ("sensitivity", "value", "standard", "strict", "open_"),
    [
        ("none", "男", "男", "男", "男"),
        ("name", "欧阳娜娜", "欧阳**", "****", "欧阳娜娜"),
        ("id_number", "110105199001011234", "110105********1234", "1***************34", "110105199001011234"),
        ("phone", "13812345678", "138****5678", "138****5678", "13812345678"),
        (
            "address",
            "江苏省南京市玄武区中山路100号",
            "江苏省南京市玄武区中山路***",
            "江苏省南京市玄武区***",
            "江苏省南京市玄武区中山路100号",
        ),
        ("other", "低保户", "***", "***", "低保户"),
        ("no-such-sensitivity", "低保户", "***", "***", "低保户"),
        (None, "男", "男", "男", "男"),
    ],
)
def test_profiles_mask_each_sensitivity(sensitivity, value, standard, strict, open_) -> None:
    assert m.mask_value(value, sensitivity, STANDARD) == standard
    assert m.mask_value(value, sensitivity, STRICT) == strict
    assert m.mask_value(value, sensitivity, OPEN) == open_


def test_a_partial_profile_keeps_none_and_masks_the_rest_as_other() -> None:
    p = Profile("partial", {"phone": "drop"})
    assert p.rule_for("phone") == "drop" and p.rule_for("none") == "keep" and p.rule_for("name") == "redact"
    assert Profile("p2", {"other": "all_stars"}).rule_for("address") == "all_stars"


def test_load_profiles_short_and_long_forms() -> None:
    profiles = load = m.load_profiles(
        {
            "公安": {"phone": "keep", "address": "address_region"},
            "district": {"base": "strict", "rules": {"phone": "drop"}},
            "district_plain_name": {"base": "district", "rules": {"name": "keep"}},
            "as_is": {"base": "open"},
        }
    )
    assert set(BUILTIN) < set(load)
    assert profiles["公安"].rules == {**STANDARD.rules, "phone": "keep", "address": "address_region"}
    assert profiles["district"].rules == {**STRICT.rules, "phone": "drop"}
    assert profiles["district_plain_name"].rules == {**STRICT.rules, "phone": "drop", "name": "keep"}
    assert profiles["as_is"].rules == OPEN.rules
    assert m.mask_value("13812345678", "phone", profiles["district"]) is None
    assert m.load_profiles({}) == BUILTIN


@pytest.mark.parametrize(
    ("mapping", "zh", "en"),
    [
        ({"x": {"phone": "hash"}}, "未知的脱敏规则“hash”", "unknown masking rule 'hash'"),
        ({"x": {"email": "redact"}}, "未知的敏感类型“email”", "unknown sensitivity 'email'"),
        ({"x": {"base": "lenient"}}, "未知的基础配置“lenient”", "unknown base profile 'lenient'"),
        ({"x": {"base": "strict", "rule": {}}}, "未知的键", "unknown keys"),
        ({"x": {"rules": ["phone"]}}, "必须是对象", "must be an object"),
        ({"x": "strict"}, "必须是对象", "must be an object"),
        ({"": {}}, "名称不能为空", "needs a name"),
        (["strict"], "必须是对象", "must be an object"),
    ],
)
def test_load_profiles_rejects_bad_data_in_both_languages(mapping, zh: str, en: str) -> None:
    with pytest.raises(ValueError) as err:
        m.load_profiles(mapping)
    assert zh in str(err.value) and en in str(err.value)


def test_a_profile_built_directly_is_validated() -> None:
    with pytest.raises(ValueError, match="unknown masking rule 'nope'"):
        Profile("bad", {"phone": "nope"})


# --- the compiled masker ---------------------------------------------------------------------------------

ITEMS = {
    "姓名": "name",
    "身份证号": "id_number",
    "联系电话": "phone",
    "住址": "address",
    "性别": "none",
    "备注": "other",
}
ROW = {
    "姓名": "张三",
    "身份证号": "110105199001011234",
    "联系电话": "13812345678",
    "住址": "江苏省南京市玄武区中山路100号",
    "性别": "男",
    "备注": "低保户",
}


def test_compiled_masker_masks_a_row() -> None:
    assert compile_masker(ITEMS)(ROW) == {
        "姓名": "张*",
        "身份证号": "110105********1234",
        "联系电话": "138****5678",
        "住址": "江苏省南京市玄武区中山路***",
        "性别": "男",
        "备注": "***",
    }
    assert compile_masker(ITEMS, OPEN)(ROW) == ROW


def test_compiled_masker_leaves_out_missing_and_undeclared_columns() -> None:
    mask = compile_masker(ITEMS, passthrough=["_id"])
    row = {"_id": 7, "姓名": "李四", "密码": "secret", "联系电话": None, "extra": 1}
    assert mask(row) == {"_id": 7, "姓名": "李*", "联系电话": None}
    assert compile_masker({"性别": "none"}, passthrough=["_id"])(row) == {"_id": 7}
    assert compile_masker({})(row) == {}
    assert mask({}) == {}


def test_compiled_masker_overrides_items_and_keeps_item_order() -> None:
    mask = compile_masker(ITEMS, STRICT, overrides={"联系电话": "keep", "备注": "drop"})
    out = mask(dict(reversed(ROW.items())))
    assert list(out) == list(ITEMS)
    assert (
        out["联系电话"] == "13812345678" and out["备注"] is None and out["身份证号"] == "1***************34"
    )
    with pytest.raises(ValueError, match="unknown masking rule 'plain'"):
        compile_masker(ITEMS, overrides={"姓名": "plain"})


def test_compiled_masker_does_not_change_the_row_and_treats_unknown_sensitivity_as_other() -> None:
    row = dict(ROW)
    compile_masker(ITEMS)(row)
    assert row == ROW
    assert compile_masker({"备注": "secretish"}, OPEN)(ROW) == {"备注": "低保户"}
    assert compile_masker({"备注": "secretish"})(ROW) == {"备注": "***"}
