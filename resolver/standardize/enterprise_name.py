"""Enterprise names: cleaning, region, organisation form, branch, core and trade name (字号)."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

from resolver.standardize.regions import division_by_name, division_names
from resolver.standardize.text import clean_text, is_blank

_INDIVIDUAL_MARKER = re.compile(r"\((?:个体工商户|个体户|个体)\)$")
_PARTNERSHIP = {"普通合伙": "普通合伙企业", "有限合伙": "有限合伙企业", "特殊普通合伙": "特殊普通合伙企业"}
_BRACKETED = re.compile(r"\(([^()]*)\)")
# A head office name ends in one of these before a branch suffix.
_HEAD_OFFICE_END = "(?:公司|集团|厂|银行|合作社|合伙企业|独资企业)"


class EnterpriseName(NamedTuple):
    """The parts of one enterprise name."""

    name: str | None
    core: str | None
    trade_name: str | None
    region: str | None
    org_form: str | None
    entity_kind: str | None
    parent_name: str | None
    missing: bool


MISSING = EnterpriseName(None, None, None, None, None, None, None, True)


def _data_lines(filename: str) -> list[str]:
    text = resources.files("resolver.standardize").joinpath("data", filename).read_text("utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, tuple[str, str]], re.Pattern[str], re.Pattern[str],
                       frozenset[str], re.Pattern[str]]:
    forms = {}
    for line in _data_lines("org_forms.csv")[1:]:
        form, normal, kind = line.split(",")
        forms[form] = (normal, kind)
    form_re = re.compile("(" + "|".join(sorted(forms, key=len, reverse=True)) + ")$")
    suffixes = sorted(_data_lines("branch_suffixes.txt"), key=len, reverse=True)
    branch_re = re.compile(
        rf"^(?P<parent>.+{_HEAD_OFFICE_END})(?P<qual>[^()]*?)(?P<suffix>{'|'.join(suffixes)})$"
    )
    industry = frozenset(_data_lines("industry_words.txt"))
    # Districts only with their suffix (西湖区): a bare 西湖 is often part of a trade name.
    names = division_names("province") + division_names("city")
    names += [n for n in division_names("district") if n[-1] in "区县市"]
    region_re = re.compile("^(" + "|".join(sorted(set(names), key=len, reverse=True)) + ")")
    return forms, form_re, branch_re, industry, region_re


@lru_cache(maxsize=4096)
def _region_label(found: str) -> str:
    """Normal form of a region: short name for provinces and cities, current full name below."""
    if found == "中国":
        return found
    division = division_by_name(found)
    if division is None:
        return found
    return division.name if division.level == "district" else division.short


@lru_cache(maxsize=4096)
def _specificity(label: str) -> int:
    division = division_by_name(label)
    return {"province": 1, "city": 2, "district": 3}.get(division.level, 0) if division else 0


def _trade_name(core: str, industry: frozenset[str]) -> str:
    """Strip industry words from the end (longest first) while at least two characters remain."""
    lengths = _industry_lengths()
    stripped = True
    while stripped:
        stripped = False
        for n in lengths:
            if len(core) - n >= 2 and core[-n:] in industry:
                core = core[:-n]
                stripped = True
                break
    return core


@lru_cache(maxsize=1)
def _industry_lengths() -> tuple[int, ...]:
    return tuple(sorted({len(w) for w in _tables()[3]}, reverse=True))


@lru_cache(maxsize=1)
def _suffixes() -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Organization-form lengths (longest first) and branch suffixes, for endswith tests."""
    forms, _, branch_re, _, _ = _tables()
    branch = branch_re.pattern.rsplit("(?P<suffix>", 1)[1].removesuffix(")$").split("|")
    return tuple(sorted({len(f) for f in forms}, reverse=True)), tuple(branch)


def _org_form(rest: str) -> tuple[int, str] | None:
    """Start and text of the organization form ending ``rest`` (form_re.search, by lookup)."""
    forms, form_re = _tables()[:2]
    if rest.endswith("\n"):  # '$' also matches before a final newline: let the regex decide
        m = form_re.search(rest)
        return (m.start(), m.group(1)) if m else None
    size = len(rest)
    for n in _suffixes()[0]:  # the leftmost regex match is the longest form that ends rest
        if n <= size and rest[-n:] in forms:
            return size - n, rest[-n:]
    return None


def _parse_plain(name: str) -> EnterpriseName:
    forms, _, _, industry, region_re = _tables()
    rest = name
    regions: list[str] = []
    form: str | None = None
    kind: str | None = None

    def bracket(m: re.Match[str]) -> str:
        nonlocal form
        inner = m.group(1)
        if inner == "中国" or _is_region(inner):
            regions.append(_region_label(inner))
            return ""
        if inner in _PARTNERSHIP:
            form = _PARTNERSHIP[inner]
            return ""
        return m.group(0) if inner else ""

    if "(" in rest:
        rest = _BRACKETED.sub(bracket, rest)
    leading = ""
    while (m := region_re.match(rest)) and len(rest) > len(m.group(1)) + 1:
        leading += m.group(1)
        regions.append(_region_label(m.group(1)))
        rest = rest[m.end():]
    if (found := _org_form(rest)) and len(rest) > len(found[1]):
        normal, kind = forms[found[1]]
        rest = rest[: found[0]]
        if form is None or normal != "合伙企业":  # a bracketed (有限合伙) is more precise
            form = normal
    elif form is not None:
        kind = "other"
    core = rest
    trade = _trade_name(core, industry)
    if leading and (len(trade) < 2 or trade in industry):
        # The region is the trade name itself (杭州银行): keep it in the core.
        core = _short_region(leading) + core
        trade = _trade_name(core, industry)
    region = max(regions, key=_specificity) if regions else None
    return EnterpriseName(name, core or None, trade or None, region, form, kind or "other",
                          None, False)


@lru_cache(maxsize=65536)
def _is_region(text: str) -> bool:
    return division_by_name(text) is not None


def _short_region(leading: str) -> str:
    division = division_by_name(leading)
    return division.short if division is not None and division.level != "district" else leading


def parse_cleaned_name(name: str) -> EnterpriseName:
    """Parse a name that is already cleaned (NFKC, simplified, brackets unified, no spaces)."""
    if is_blank(name) or not name.strip("*-_()"):  # only these characters
        return MISSING
    individual = False
    if name.endswith((")", ")\n")) and (m := _INDIVIDUAL_MARKER.search(name)):
        name = name[: m.start()]
        individual = True
        if not name:
            return MISSING._replace(entity_kind="individual_business")
    _, _, branch_re, _, _ = _tables()
    # The branch regex backtracks over the whole name; most names end in no branch suffix.
    may_branch = name.endswith(_suffixes()[1]) or name.endswith("\n")
    if may_branch and (m := branch_re.match(name)) and m.group("parent") != name:
        parent = _parse_plain(m.group("parent"))
        suffix = m.group("suffix")
        core = (parent.core or "") + m.group("qual")
        return EnterpriseName(name, core or None, parent.trade_name, parent.region, suffix,
                              "branch", m.group("parent"), False)
    parsed = _parse_plain(name)
    if individual:
        parsed = parsed._replace(entity_kind="individual_business",
                                 org_form=parsed.org_form or "个体工商户")
    return parsed


def clean_enterprise_name(raw: str) -> str | None:
    """Cleaned full name: NFKC, simplified, one bracket style, no spaces; None when empty."""
    if is_blank(raw):
        return None
    cleaned = clean_text(raw)
    return None if is_blank(cleaned) else cleaned


def parse_enterprise_name(raw: str | None) -> EnterpriseName:
    """Clean and parse a raw enterprise name; ``*`` or empty gives a missing name."""
    if raw is None or is_blank(raw):
        if isinstance(raw, str) and raw.strip() == "*":
            return MISSING._replace(entity_kind="individual_business")
        return MISSING
    return parse_cleaned_name(clean_text(raw))
