"""Dates and status words."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver.standardize.dates import normalize_status, parse_date


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2014-07-15", "2014-07-15"),
        ("2014/7/15", "2014-07-15"),
        ("20140715", "2014-07-15"),
        ("2014年7月15日", "2014-07-15"),
        ("2014.7.15", "2014-07-15"),
        ("41835", "2014-07-15"),  # Excel serial
        ("41835.0", "2014-07-15"),
        ("2014-07-15 00:00:00", "2014-07-15"),
        ("２０１４－０７－１５", "2014-07-15"),
        ("2014-02-30", None),
        ("20140230", None),
        ("2014年7月", None),
        ("abc", None),
        ("", None),
    ],
)
def test_parse_date(raw, iso):
    assert parse_date(raw) == iso


@given(st.dates(min_value=datetime.date(1900, 3, 1), max_value=datetime.date(2099, 12, 31)),
       st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d"]))
def test_formats_round_trip_and_idempotent(day, fmt):
    iso = parse_date(day.strftime(fmt))
    assert iso == day.isoformat()
    assert parse_date(iso) == iso


@given(st.dates(min_value=datetime.date(1900, 3, 1), max_value=datetime.date(2099, 12, 31)))
def test_excel_serial(day):
    serial = (day - datetime.date(1899, 12, 30)).days
    assert parse_date(str(serial)) == day.isoformat()


@pytest.mark.parametrize(
    ("raw", "status"),
    [("存续", "active"), ("在业", "active"), ("开业", "active"), ("正常", "active"),
     ("注销", "cancelled"), ("吊销", "revoked"), ("吊销，未注销", "revoked"),
     ("迁出", "moved_out"), ("非正常", "abnormal"), ("非正常户", "abnormal"),
     ("异常", "abnormal"), ("ACTIVE", "active"), ("不知道", None)],
)
def test_status_defaults(raw, status):
    assert normalize_status(raw) == status


def test_status_value_map_wins():
    assert normalize_status("正常", {"正常": "abnormal"}) == "abnormal"
    assert normalize_status("Z", {"Z": "cancelled"}) == "cancelled"
