"""Person names: simplification with surname guard, middle dots, pinyin keys."""

import opencc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver.standardize.person_name import clean_person_name, name_pinyin


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("張 三", "张三"),
        ("於小明", "於小明"),  # surname 於 is not 于
        ("乾小明", "乾小明"),
        ("陳於", "陈於"),
        ("阿卜杜・热合曼", "阿卜杜·热合曼"),
        ("阿卜杜･热合曼", "阿卜杜·热合曼"),
        ("阿卜杜 • 热合曼", "阿卜杜·热合曼"),
        ("阿卜杜.热合曼", "阿卜杜·热合曼"),
        ("  ", None),
        ("*", None),
    ],
)
def test_clean(raw, clean):
    assert clean_person_name(raw) == clean


def test_opencc_alone_merges_surnames():
    assert opencc.OpenCC("t2s").convert("於小明") == "于小明"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("单田芳", "shantianfang"),
        ("解缙", "xiejin"),
        ("仇英", "qiuying"),
        ("区家明", "oujiaming"),
        ("曾国藩", "zengguofan"),
        ("查良镛", "zhaliangyong"),
        ("朴槿惠", "piaojinhui"),
        ("尉迟恭", "yuchigong"),
        ("张三", "zhangsan"),
        ("阿卜杜·热合曼", "abodureheman"),  # dot dropped; pypinyin reads 卜 as bo (consistent is enough)
    ],
)
def test_pinyin(name, key):
    assert name_pinyin(name) == key


@given(st.text(alphabet=st.sampled_from(list("張三於乾·・ .•李華明")), max_size=12))
def test_clean_is_idempotent(raw):
    once = clean_person_name(raw)
    assert once is None or clean_person_name(once) == once
