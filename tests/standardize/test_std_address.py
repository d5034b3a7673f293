"""Addresses: admin divisions with the 2021 Hangzhou reform, road, house number, rest."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver.standardize.address import parse_address
from resolver.standardize.numerals import chinese_to_int
from resolver.standardize.text import clean_text


@pytest.mark.parametrize(
    ("raw", "district", "code"),
    [
        ("浙江省杭州市西湖区文三路478号", "西湖区", "330106"),
        ("杭州市江干区凯旋路1号", "上城区", "330102"),
        ("杭州市下城区延安路1号", "拱墅区", "330105"),
        ("杭州市临平区南苑街道人民大道1号", "临平区", "330113"),
        ("杭州市钱塘区白杨街道1号", "钱塘区", "330114"),
        ("杭州市钱塘新区白杨街道1号", "钱塘区", "330114"),
        ("余杭区塘栖镇市场路5号", "临平区", "330113"),  # town moved out of 余杭 in 2021
        ("余杭区仓前街道文一西路969号", "余杭区", "330110"),  # stayed
        ("杭州市江干区下沙街道学林街100号", "钱塘区", "330114"),
        ("富阳市银湖街道", "富阳区", "330111"),
        ("杭州西湖文一西路100号", "西湖区", "330106"),
        ("杭州市高新区(滨江)江南大道100号", "滨江区", "330108"),  # an alias with brackets
        ("杭州市高新区（滨江）江南大道100号", "滨江区", "330108"),
    ],
)
def test_district(raw, district, code):
    parsed = parse_address(raw)
    assert (parsed.district, parsed.district_code) == (district, code)
    assert (parsed.province, parsed.city) == ("浙江省", "杭州市")


def test_an_alias_with_brackets_is_not_left_in_the_road():
    assert parse_address("杭州市高新区(滨江)江南大道100号").road == "江南大道"


def test_bare_district_means_default_city():
    assert parse_address("西湖区文三路1号").city == "杭州市"
    other = parse_address("西湖区文三路1号", default_city="宁波市")
    assert other.district_code is None and other.city is None


def test_other_city():
    parsed = parse_address("宁波市海曙区中山路1号")
    assert (parsed.city, parsed.district, parsed.district_code, parsed.road) == (
        "宁波市", "海曙区", None, "中山路")


@pytest.mark.parametrize(
    ("raw", "road", "house", "rest"),
    [
        ("西湖区文三路一百二十号1幢3单元501室", "文三路", "120号", "1幢3单元501室"),
        ("西湖区文三路120号三幢二单元501室", "文三路", "120号", "3幢2单元501室"),
        ("杭州市西湖区文一西路100-1号", "文一西路", "100-1号", None),
        ("杭州市滨江区江南大道3888号", "江南大道", "3888号", None),
        ("上城区清河坊十五巷8号", "清河坊十五巷", "8号", None),
        ("杭 州 市 上 城 区 解 放 路 ２５ 号", "解放路", "25号", None),
    ],
)
def test_street_parts(raw, road, house, rest):
    parsed = parse_address(raw)
    assert (parsed.road, parsed.house_number, parsed.rest) == (road, house, rest)


@pytest.mark.parametrize(
    ("text", "value"),
    [("一百二十", 120), ("十五", 15), ("二十", 20), ("一千零八", 1008), ("二〇八", 208), ("十", 10)],
)
def test_chinese_numerals(text, value):
    assert chinese_to_int(text) == value


@pytest.mark.parametrize("raw", [None, "", "  ", "*"])
def test_empty(raw):
    assert parse_address(raw).address is None


addresses = st.text(alphabet=st.sampled_from(list("浙江省杭州市西湖区江干文三路一二十百号幢单元室0123 -")),
                    max_size=30)


@given(addresses)
def test_idempotent(raw):
    once = parse_address(raw)
    if once.address is not None:
        again = parse_address(once.address)
        assert again == once
        assert clean_text(once.address) == once.address
