"""GX's kwargs lookups, read once per call (gx_speed.py): the same answers as GX's own, for fewer builds."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from pipeline.config import EXPECTATIONS_DIR
from pipeline.warehouse import gx_speed
from pipeline.warehouse.expectations import load_suites, spec_to_expectation


@pytest.fixture(scope="module")
def expectations():
    gx_speed.read_configurations_once()
    return [spec_to_expectation(spec, suite) for suite in load_suites(EXPECTATIONS_DIR) for spec in suite.specs]


def test_it_fits_the_pinned_gx_and_is_in_place():
    assert version("great_expectations") == gx_speed.GX_VERSION  # else pyproject moved GX on: check the copies
    assert gx_speed.read_configurations_once()
    from great_expectations.expectations.expectation import Expectation

    assert [Expectation.__dict__[m] for m in gx_speed.METHODS] == [getattr(gx_speed, m) for m in gx_speed.METHODS]


def test_every_expectation_of_the_shipped_suites_gets_what_gx_itself_answers(expectations):
    assert len(expectations) > 100 and len({type(e).__name__ for e in expectations}) >= 10
    for e in expectations:
        for method in ("_get_domain_kwargs", "_get_success_kwargs"):
            assert getattr(e, method)() == gx_speed.SHIPPED[method](e), (type(e).__name__, method)
        for key in (*e.domain_keys, *e.success_keys):
            assert e._get_success_kwarg(key) == gx_speed.SHIPPED["_get_success_kwarg"](e, key), (type(e).__name__, key)


def test_a_call_builds_the_configuration_once_where_gx_built_it_per_key(expectations, monkeypatch):
    from great_expectations.expectations.expectation import Expectation

    built = []
    shipped = Expectation.__dict__["configuration"]
    monkeypatch.setattr(Expectation, "configuration", property(lambda self: built.append(1) or shipped.fget(self)))
    e = max(expectations, key=lambda e: len(e.domain_keys))
    assert len(e.domain_keys) >= 3
    built.clear()
    gx_speed.SHIPPED["_get_domain_kwargs"](e)
    assert len(built) == len(e.domain_keys)  # GX: once per key
    built.clear()
    e._get_domain_kwargs()
    assert len(built) == 1
    built.clear()
    e._get_success_kwargs()
    assert len(built) == 2  # once for the domain keys, once for the success keys
