"""Warehouse-scope expectations as SQL inside the built DuckDB file (no GX import, one scan per expectation).

Each spec of expectations/*.toml with ``scope = "warehouse"`` becomes a query selecting its offending rows; the
schema's table keys add one uniqueness query each (a broken key across notices). Semantics follow GX's for the
expectation types the suites use (row conditions, ``mostly``, ``ignore_row_if``, value sets from a register or
another table), so a spec means the same whichever engine checks it.
"""

from __future__ import annotations

import datetime as dt
import time

import duckdb

from pipeline.warehouse.ddl import quote
from pipeline.warehouse.expectations import Spec, Suite, data_value_set
from pipeline.warehouse.gate import SHOWN_ROWS, GateResult, Outcome, outcomes_to_gate, row_key_sql
from pipeline.warehouse.schema import TABLES


class UnsupportedExpectation(ValueError):
    """A warehouse-scope spec uses an expectation type the SQL engine does not implement."""


def _lit(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _values(values) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")" if values else "(NULL)"


def _where(spec: Spec) -> str:
    if not spec.where:
        return "TRUE"
    parts = []
    for col, value in spec.where.items():
        parts.append(f"{quote(col)} IN {_values(value)}" if isinstance(value, list) else f"{quote(col)} = {_lit(value)}")
    return " AND ".join(parts)


def offending_predicate(spec: Spec, source: str) -> tuple[str, str]:
    """Return (rows the expectation looks at, rows among them that break it) as SQL predicates."""
    k = spec.kwargs
    col = quote(k["column"]) if "column" in k else None
    considered = _where(spec)
    t = spec.type
    if t == "expect_column_values_to_not_be_null":
        return considered, f"{col} IS NULL"
    if t == "expect_column_values_to_be_unique":
        return (f"{considered} AND {col} IS NOT NULL",
                f"{col} IN (SELECT {col} FROM ({source}) WHERE {considered} GROUP BY {col} HAVING count(*) > 1)")
    if t == "expect_compound_columns_to_be_unique":
        cols = ", ".join(quote(c) for c in k["column_list"])
        some = " OR ".join(f"{quote(c)} IS NOT NULL" for c in k["column_list"])
        return (f"{considered} AND ({some})",
                f"({cols}) IN (SELECT {cols} FROM ({source}) WHERE {considered} GROUP BY {cols} HAVING count(*) > 1)")
    if t == "expect_column_values_to_be_in_set":
        if spec.value_set_from_table:
            table, _, column = spec.value_set_from_table.partition(".")
            allowed = f"(SELECT {quote(column)} FROM {quote(table)} WHERE {quote(column)} IS NOT NULL)"
        elif spec.value_set_from_data:
            allowed = _values(data_value_set(spec.value_set_from_data))
        else:
            allowed = _values(k["value_set"])
        return f"{considered} AND {col} IS NOT NULL", f"{col} NOT IN {allowed}"
    if t in ("expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"):
        hit = f"regexp_matches(CAST({col} AS VARCHAR), {_lit(k['regex'])})"
        return f"{considered} AND {col} IS NOT NULL", f"NOT {hit}" if t == "expect_column_values_to_match_regex" else hit
    if t == "expect_column_values_to_be_between":
        lo, hi = k.get("min_value"), k.get("max_value")
        bad = []
        if lo is not None:
            bad.append(f"{col} {'<=' if k.get('strict_min') else '<'} {_lit(lo)}")
        if hi is not None:
            bad.append(f"{col} {'>=' if k.get('strict_max') else '>'} {_lit(hi)}")
        return f"{considered} AND {col} IS NOT NULL", " OR ".join(bad) or "FALSE"
    if t in ("expect_column_pair_values_a_to_be_greater_than_b", "expect_column_pair_values_to_be_equal"):
        a, b = quote(k["column_A"]), quote(k["column_B"])
        ignore = k.get("ignore_row_if", "both_values_are_missing")
        skip = {"both_values_are_missing": f"({a} IS NULL AND {b} IS NULL)",
                "either_value_is_missing": f"({a} IS NULL OR {b} IS NULL)", "neither": "FALSE"}[ignore]
        if t.endswith("equal"):
            bad = f"{a} IS DISTINCT FROM {b}"
        else:
            bad = f"NOT coalesce({a} {'>=' if k.get('or_equal') else '>'} {b}, FALSE)"
        return f"{considered} AND NOT {skip}", bad
    raise UnsupportedExpectation(f"{t} cannot be checked in SQL; give it scope = \"notice\" or implement it here")


def spec_outcome(con: duckdb.DuckDBPyConnection, suite: Suite, spec: Spec) -> Outcome:
    """Evaluate one spec on the built file: its offending rows (a few named by key) and whether it holds."""
    source = suite.sql or f"SELECT * FROM {quote(suite.table)}"
    considered, bad = offending_predicate(spec, source)
    key = row_key_sql(suite.index)
    try:
        total, n_bad = con.execute(f"SELECT count(*), count(*) FILTER (WHERE {bad}) FROM ({source}) "
                                   f"WHERE {considered}").fetchone()
        shown = [r[0] for r in con.execute(f"SELECT {key} AS row_key FROM ({source}) WHERE {considered} AND ({bad}) "
                                           f"LIMIT {SHOWN_ROWS}").fetchall()] if n_bad else []
    except duckdb.Error as exc:
        return Outcome(suite.name, spec.label, spec.severity, False, spec.why, error=str(exc).splitlines()[0])
    mostly = spec.kwargs.get("mostly")
    success = n_bad == 0 if mostly is None else (total == 0 or (total - n_bad) / total >= mostly)
    return Outcome(suite.name, spec.label, spec.severity, success, spec.why, unexpected_count=n_bad, offending=shown)


def key_outcomes(con: duckdb.DuckDBPyConnection) -> list[Outcome]:
    """Check every schema key is unique across the whole warehouse (a broken key stops the publish)."""
    out = []
    for name, table in TABLES.items():
        if not table.key:
            continue
        cols = ", ".join(quote(c) for c in table.key)
        rows = con.execute(f"SELECT {row_key_sql(table.key)}, count(*) AS n FROM {quote(name)} GROUP BY {cols} "
                           f"HAVING count(*) > 1 ORDER BY n DESC LIMIT {SHOWN_ROWS}").fetchall()
        n = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {quote(name)} GROUP BY {cols} HAVING count(*) > 1)").fetchone()[0]
        out.append(Outcome(f"{name}@key", f"key({', '.join(table.key)}) unique", "critical", n == 0,
                           f"{name}'s key identifies one row across every notice; a repeat means two notices share ids",
                           unexpected_count=n, offending=[f"{r[0]} ×{r[1]}" for r in rows]))
    return out


def warehouse_gate(con: duckdb.DuckDBPyConnection, suites: list[Suite]) -> GateResult:
    """Validate the warehouse-scope specs and the schema keys in SQL; a failed critical one fails the gate."""
    start = time.perf_counter()
    outcomes = key_outcomes(con)
    for suite in suites:
        if suite.scope != "warehouse":
            continue
        outcomes += [spec_outcome(con, suite, spec) for spec in suite.specs]
    return outcomes_to_gate(outcomes, time.perf_counter() - start)
