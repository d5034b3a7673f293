"""Enterprise names: the hard cases from the issue, branches, individual businesses, tokens."""

import jieba
import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver.standardize.enterprise_name import clean_enterprise_name, parse_enterprise_name
from resolver.standardize.tokens import (
    NameTokenizer,
    _read_jieba_cache,
    build_trade_name_dictionary,
)


def core(name):
    return parse_enterprise_name(name).core


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("杭州海康威视数字技术股份有限公司", "海康威视（杭州）数字技术有限公司"),
        ("浙江杭州华新科技有限责任公司", "杭州市华新科技有限公司"),
        ("杭州華新科技有限公司", "杭州华新科技有限公司"),
        ("杭州 华新 科技 有限公司", "杭州华新科技有限公司"),
        ("杭州市西湖区华新科技有限公司", "华新科技（浙江）有限公司"),
    ],
)
def test_same_core(left, right):
    assert core(left) == core(right) is not None


def test_same_trade_name_different_core():
    a, b = parse_enterprise_name("杭州华新科技有限公司"), parse_enterprise_name("杭州华新电子有限公司")
    assert a.trade_name == b.trade_name == "华新"
    assert a.core != b.core


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("杭州海康威视数字技术股份有限公司",
         dict(core="海康威视数字技术", trade_name="海康威视", region="杭州", org_form="股份有限公司",
              entity_kind="company")),
        ("浙江杭州华新科技有限责任公司",
         dict(core="华新科技", trade_name="华新", region="杭州", org_form="有限公司")),
        ("杭州娃哈哈集团有限公司",
         dict(core="娃哈哈", org_form="集团有限公司", entity_kind="company")),
        ("杭州市江干区华新五金经营部(个体工商户)",
         dict(name="杭州市江干区华新五金经营部", region="上城区", org_form="经营部",
              entity_kind="individual_business")),
        ("西湖区张三小吃店",
         dict(core="张三小吃", trade_name="张三", region="西湖区", org_form="店",
              entity_kind="individual_business")),
        ("杭州某某投资合伙企业（有限合伙）",
         dict(org_form="有限合伙企业", entity_kind="other", core="某某投资")),
        ("阿里巴巴（中国）有限公司", dict(core="阿里巴巴", region="中国", name="阿里巴巴(中国)有限公司")),
        ("杭州银行股份有限公司", dict(core="杭州银行", region="杭州")),
    ],
)
def test_parts(raw, expected):
    parsed = parse_enterprise_name(raw)._asdict()
    assert {k: parsed[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("raw", "parent", "form"),
    [
        ("杭州娃哈哈集团有限公司滨江分公司", "杭州娃哈哈集团有限公司", "分公司"),
        ("中国银行股份有限公司杭州西湖支行", "中国银行股份有限公司", "支行"),
        ("杭州联华华商集团有限公司文三路店", "杭州联华华商集团有限公司", "店"),
        ("杭州某某食品厂门市部", "杭州某某食品厂", "门市部"),
    ],
)
def test_branch(raw, parent, form):
    parsed = parse_enterprise_name(raw)
    assert (parsed.entity_kind, parsed.parent_name, parsed.org_form) == ("branch", parent, form)


def test_branch_core_differs_from_head_office():
    branch = parse_enterprise_name("杭州娃哈哈集团有限公司滨江分公司")
    head = parse_enterprise_name("杭州娃哈哈集团有限公司")
    assert branch.trade_name == head.trade_name == "娃哈哈"
    assert branch.core != head.core


@pytest.mark.parametrize("raw", ["杭州某某企业管理服务部", "杭州西湖社区便利店", "杭州某某科技有限公司"])
def test_not_branch(raw):
    assert parse_enterprise_name(raw).entity_kind != "branch"


@pytest.mark.parametrize("raw", ["", "   ", "*", "-", None])
def test_missing_name(raw):
    parsed = parse_enterprise_name(raw)
    assert parsed.missing and parsed.name is None


def test_star_is_an_unnamed_individual_business():
    assert parse_enterprise_name("*").entity_kind == "individual_business"


def test_tokenizer_keeps_learned_trade_names_whole():
    plain = NameTokenizer()
    assert plain.tokens("海康威视数字技术") != ["海康威视", "数字", "技术"]  # jieba alone splits it
    learned = build_trade_name_dictionary(["杭州海康威视数字技术股份有限公司", "杭州华新科技有限公司"])
    assert learned == {"海康威视", "华新"}
    tokenizer = NameTokenizer(learned)
    assert tokenizer.tokens("海康威视数字技术") == ["海康威视", "数字", "技术"]
    assert tokenizer.tokens("海康威视数字技术", "海康威视") == ["海康威视", "数字", "技术"]


def test_tokenizers_do_not_share_dictionaries():
    NameTokenizer(["威视数字"])
    assert NameTokenizer().tokens("海康威视数字技术")[:1] != ["海康威视"]
    NameTokenizer(["海康威视"])  # the process reads jieba's dictionary once; each gets a copy
    assert NameTokenizer().tokens("海康威视数字技术")[:1] != ["海康威视"]


def test_a_tokenizer_cuts_as_jieba_with_its_own_dictionary_read():
    own = jieba.Tokenizer()
    own.initialize()
    cores = ["海康威视数字技术", "华新电子商务", "西湖区张三小吃店", "杭州市余杭区建材贸易", "信息技术咨询服务"]
    assert [NameTokenizer().tokens(c) for c in cores] == [
        [t for t in own.lcut(c, HMM=False) if t.strip("() ")] for c in cores]


def test_jiebas_cache_read_whole_is_jiebas_dictionary():
    own = jieba.Tokenizer()
    own.initialize()  # writes jieba's cache when there is none
    assert _read_jieba_cache(jieba.Tokenizer()) == (own.FREQ, own.total)


def test_no_readable_jieba_cache_falls_back_to_jieba(tmp_path):
    missing = jieba.Tokenizer()
    missing.tmp_dir = str(tmp_path)
    assert _read_jieba_cache(missing) is None
    (tmp_path / "jieba.cache").write_bytes(b"not marshal data")
    assert _read_jieba_cache(missing) is None
    custom = jieba.Tokenizer(dictionary=str(tmp_path / "dict.txt"))
    assert _read_jieba_cache(custom) is None  # another dictionary has another cache


def test_tokenizer_dictionary_is_jiebas_own():
    own = jieba.Tokenizer()
    own.initialize()  # builds jieba's cache file when there is none
    ours = NameTokenizer()._jieba
    assert ours.initialized and ours.total == own.total and ours.FREQ == own.FREQ


def test_learned_trade_names_are_what_jiebas_add_word_makes():
    names = ["海康威视", "华新", "杭州华新宏达", "华新", "x", "宏达"]
    own = jieba.Tokenizer()
    own.initialize()
    for name in names:
        own.add_word(name, freq=100_000)
    ours = NameTokenizer(names)._jieba
    assert ours.total == own.total and ours.FREQ == own.FREQ and list(ours.FREQ) == list(own.FREQ)


names = st.text(alphabet=st.sampled_from(list("杭州市华新科技有限公司(（)） 華興分店*·ａ1")), max_size=20)


@given(names)
def test_clean_name_is_idempotent(raw):
    once = clean_enterprise_name(raw)
    if once is not None:
        assert clean_enterprise_name(once) == once
        assert parse_enterprise_name(once) == parse_enterprise_name(raw)
