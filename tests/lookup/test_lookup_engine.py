"""Engine-side look-ups without HTTP: keys, masking, audit fingerprints, identifier classes,
and scoring parity with Splink's own predict."""

from __future__ import annotations

import copy
import dataclasses
import logging
import time

import pandas as pd
import pytest
from lookup_data import build_store

from resolver.access.access_store import open_access
from resolver.access.audit import query_fingerprint
from resolver.access.keys import AuthenticationError, KeyCache, authenticate, create_key, revoke_key
from resolver.access.masking import mask_fields
from resolver.errors import InputError
from resolver.linking.model import load_model
from resolver.linking.predict import predict_pairs
from resolver.lookup.scoring import compile_model, score
from resolver.lookup.search import classify_identifier
from resolver.store import open_store


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    logging.getLogger("splink").setLevel(logging.ERROR)
    return build_store(tmp_path_factory.mktemp("lookup"), n_enterprises=80, n_people=10)


def test_mask_fields_by_the_field_table():
    """Forms and raw rows are covered in tests/security/test_masking_rules.py."""
    row = {"name": "王伟", "id_number": "33010619800101123X", "phone": "13812345678", "id_birth_date": "1980-01-01"}
    assert mask_fields("person", row, unmasked=True) == row
    assert mask_fields("person", row, unmasked=False) == {
        "name": "王伟", "id_number": "330106************", "phone": "138****5678"}


def test_keys_are_stored_hashed_and_revocable(tmp_path):
    store = open_access(tmp_path / "k.duckdb")
    key_id, key = create_key(store, "公安", "person:read,person:pii")
    stored = store.query("SELECT key_hash FROM api_keys")[0][0]
    assert key.split("_")[-1] not in stored and "$" in stored
    caller = authenticate(store, key)
    assert caller.department == "公安" and caller.allows("person:pii") and not caller.allows("enterprise:read")
    with pytest.raises(AuthenticationError):
        authenticate(store, key[:-1] + ("A" if key[-1] != "A" else "B"))
    revoke_key(store, key_id)
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate(store, key)


def test_key_cache_rechecks_after_its_ttl_and_never_caches_a_failure(tmp_path, monkeypatch):
    store = open_access(tmp_path / "k.duckdb")
    key_id, key = create_key(store, "公安", "person:read")
    cache = KeyCache(store, ttl=60)
    assert cache.cached(key) is None and cache.authenticate(key).department == "公安"
    assert cache.cached(key) is not None
    revoke_key(store, key_id)
    assert cache.authenticate(key).key_id == key_id  # within the ttl: the revocation is not seen yet
    clock = time.monotonic() + 61
    monkeypatch.setattr(time, "monotonic", lambda: clock)
    with pytest.raises(AuthenticationError, match="revoked"):
        cache.authenticate(key)
    with pytest.raises(AuthenticationError):
        cache.authenticate(key)  # still refused: failures are not cached
    assert cache.cached("rk_0000000000000000_" + "A" * 30) is None


def test_key_cache_reads_the_store_once_for_many_callers_with_the_same_key(tmp_path, monkeypatch):
    import threading

    from resolver.access import keys as keys_module

    store = open_access(tmp_path / "k.duckdb")
    _, key = create_key(store, "公安", "person:read")
    reads = []
    real = keys_module.authenticate

    def slow(store_, presented):
        reads.append(presented)
        time.sleep(0.05)
        return real(store_, presented)

    monkeypatch.setattr(keys_module, "authenticate", slow)
    cache = KeyCache(store, ttl=60)
    found = []
    threads = [threading.Thread(target=lambda: found.append(cache.authenticate(key).department)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == ["公安"] * 8 and len(reads) == 1


def test_key_cache_rechecks_a_busy_key_in_the_background_before_it_expires(tmp_path, monkeypatch):
    store = open_access(tmp_path / "k.duckdb")
    key_id, key = create_key(store, "公安", "person:read")
    cache = KeyCache(store, ttl=60)
    start = time.monotonic()
    cache.authenticate(key)
    clock = start + 40  # second half of the ttl: still served, checked again behind the answer
    monkeypatch.setattr(time, "monotonic", lambda: clock)
    revoke_key(store, key_id)
    assert cache.cached(key) is not None
    cache.wait_rechecks()
    assert cache.cached(key) is None  # the check saw the revocation: refused before the ttl ran out
    with pytest.raises(AuthenticationError, match="revoked"):
        cache.authenticate(key)
    other_id, other = create_key(store, "人社", "person:read")
    cache.authenticate(other)
    clock += 40
    assert cache.cached(other) is not None
    cache.wait_rechecks()
    clock += 25  # 65 s after the first check, 25 s after the background one: still cached
    assert cache.cached(other) is not None


def test_fingerprint_normalises_the_query_and_is_keyed():
    secret = b"s" * 32
    a = query_fingerprint(secret, "GET /v1/{domain}", {"id": " 91330106ma2b0000x1 ", "name": None})
    assert a == query_fingerprint(secret, "GET /v1/{domain}", {"id": "91330106MA2B0000X1"})
    assert a != query_fingerprint(secret, "GET /v1/{domain}", {"id": "91330106MA2B0000X2"})
    assert a != query_fingerprint(b"t" * 32, "GET /v1/{domain}", {"id": "91330106MA2B0000X1"})


@pytest.mark.parametrize("domain,raw,kind", [
    ("enterprise", "91330106MA2B00001X", "uscc"),
    ("enterprise", "12345678-9", "org_code"),
    ("enterprise", "330106123456789", "tax_id"),
    ("enterprise", "33010600000000000000", "tax_id"),
    ("person", "330106800101001", "id_number"),
    ("person", "33010619800101001X", "id_number"),
])
def test_classify_identifier(domain, raw, kind):
    assert classify_identifier(domain, raw).kind == kind


def test_fifteen_digit_resident_id_becomes_eighteen():
    q = classify_identifier("person", "330106800101001")
    assert len(q.value) == 18 and q.value.startswith("33010619800101001")


@pytest.mark.parametrize("raw", ["abc", "x' OR 1=1", "1234", "91330106MA2B00001X9999"])
def test_unrecognised_identifiers_are_input_errors(raw):
    with pytest.raises(InputError):
        classify_identifier("enterprise", raw)


def _with_zero_m_and_u(model):
    """The model with one level's m and another's u at (nearly) 0, as EM and sampling can give."""
    settings = copy.deepcopy(model.settings)
    by_name = {c["output_column_name"]: c for c in settings["comparisons"]}
    by_name["address"]["comparison_levels"][-1]["m_probability"] = 1e-300  # "all other": never a match
    by_name["name"]["comparison_levels"][1]["u_probability"] = 1e-40  # "full name equal": never by chance
    return dataclasses.replace(model, settings=settings, version=model.version + "-zero")


@pytest.mark.parametrize("variant", ["trained", "zero_m_and_u"])
def test_scoring_matches_splink_predict(built, variant):
    """Our compiled scorer gives Splink's match weights for every scored pair (tf included),
    also where m or u is (nearly) 0: weights far beyond ±60, as Splink computes them, no cap of ours."""
    store = open_store(built.path)
    try:
        records = store.load_records("enterprise")
        model = load_model(built.model_path)
        if variant == "zero_m_and_u":
            model = _with_zero_m_and_u(model)
        pairs = predict_pairs(records, model, threshold=0.0).sort_values("match_weight").reset_index(drop=True)
        compiled = compile_model(model)
        assert compiled.python is not None  # scored in Python; the SQL path checks it below
        in_sql = dataclasses.replace(compiled, python=None)
        by_id = records.set_index("unique_id")
        totals = {c: int(records[c].notna().sum()) for c in compiled.tf_columns}
        checked = 0
        def plain(unique_id):
            row = by_id.loc[unique_id].to_dict()
            return {"unique_id": unique_id, **{
                k: (None if not isinstance(v, (list, str)) and not hasattr(v, "__len__") and pd.isna(v) else v)
                for k, v in row.items()}}

        for pair in pairs.itertuples():
            left = plain(pair.unique_id_l)
            tf = {}
            for col in compiled.tf_columns:
                value = left.get(col)
                if value is not None:
                    tf[col] = int((records[col] == value).sum()) / totals[col]
            ours = score(compiled, left, [plain(pair.unique_id_r)], tf)[0]
            assert ours == score(in_sql, left, [plain(pair.unique_id_r)], tf)[0]  # Python levels = SQL levels
            assert ours["match_weight"] == pytest.approx(pair.match_weight, abs=1e-3), pair
            checked += 1
        assert checked >= 10
        if variant == "zero_m_and_u":
            assert pairs["match_weight"].abs().max() > 100  # the clamped levels were reached
    finally:
        store.close()


@pytest.mark.parametrize("level", [logging.ERROR, logging.INFO])
def test_compiling_a_model_leaves_splinks_log_level_alone(built, level):
    """The server compiles its models at start; Splink's default (INFO) used to set the `splink`
    logger for the whole process, so every incremental write logged its predict."""
    splink = logging.getLogger("splink")
    before = splink.level
    try:
        splink.setLevel(level)
        compile_model(load_model(built.model_path))
        assert splink.level == level
    finally:
        splink.setLevel(before)
