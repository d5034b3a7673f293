"""POST /records frames standardized in a process of the server's own
(resolver.lookup.one_record.Standardizer.start_processes): the same frames, and a process that
dies does not fail the call."""

from __future__ import annotations

import os
import signal
import time

import pandas as pd

from resolver.lookup.one_record import Standardizer

CALLS = [
    [{"source": "tax", "source_record_id": f"p{c}-{i}", "row_number": i + 1, **fields}
     for i, fields in enumerate(batch)]
    for c, batch in enumerate([
        [{"name": "杭州华新科技有限公司", "legal_rep": "张伟", "phone": "0571-88886666",
          "address": "杭州市西湖区文三路90号", "uscc": "91330106MA2B1234X5"},
         {"name": "华新科技（杭州）有限公司", "address": "浙江省杭州市西湖区文三路九十号"}],
        [{"name": "宁波远山青松测绘有限公司", "legal_rep": "司马光", "phone": "13900001111"},
         {"name": "杭州海康威视数字技术股份有限公司滨江分公司", "uscc": "bad-id"},
         {"name": "", "address": None}],
    ])]


def _started() -> Standardizer:
    standardizer = Standardizer()
    standardizer.start_processes(1, ["enterprise"])
    return standardizer


def test_a_frame_standardized_in_a_process_of_its_own_equals_one_standardized_here():
    here, apart = Standardizer(), _started()
    try:
        for call in CALLS:
            pd.testing.assert_frame_equal(apart.frame("enterprise", call), here.frame("enterprise", call))
        assert apart._tokenizer is None  # nothing was standardized in this process
    finally:
        apart.close()


def test_a_standardizing_process_that_died_does_not_fail_the_call():
    standardizer = _started()
    try:
        pool = standardizer._pool
        assert pool is not None
        for pid in list(pool._processes):  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        pd.testing.assert_frame_equal(standardizer.frame("enterprise", CALLS[0]),
                                      Standardizer().frame("enterprise", CALLS[0]))
        assert standardizer._pool is None  # from now on standardized here
    finally:
        standardizer.close()
