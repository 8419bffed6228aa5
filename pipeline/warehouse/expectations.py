"""Expectation suites as data: one TOML file per warehouse table in expectations/, read into specs.

A suite file names its table and lists `[[expect]]` entries: the GX expectation `type`, its arguments, a `severity`
(critical blocks the publish, warning is reported) and `why` it exists. Besides these, three keys are ours, not GX's:

- `where = { column = value | [values] }` restricts the expectation to matching rows (a GX row condition);
- `value_set_from_table = "table.column"` takes the accepted values from another warehouse table (a reference);
- `value_set_from_data = "file.toml#key"` takes them from a register under pipeline/data/.

Both value sets become GX suite parameters, resolved from the warehouse being validated. `[[check]]` entries
validate a query over several tables (row counts, composite keys) with the same kind of `[[check.expect]]`.

Each expectation guards either one notice's rows or the warehouse as a whole (`scope = "notice" | "warehouse"`,
set per file, per check or per expectation). A notice-scope expectation is validated with GX on the candidate rows
of the notices a refresh changed: a failure quarantines that notice version, the others publish. A warehouse-scope
expectation is validated in SQL inside the built file: a failure stops the publish. Tables filled per notice
(extracted per file, notices, raw_files, dq_flags) default to notice scope; history and derived tables to warehouse.
A notice-scope check query must select `notice_id`, so each offending row names its notice.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import EXPECTATIONS_DIR, data_path

SEVERITIES = ("critical", "warning")
SCOPES = ("notice", "warehouse")
NOTICE_TABLES_EXTRA = ("notices", "raw_files", "dq_flags")  # besides the per-file tables
_OURS = ("type", "severity", "why", "where", "value_set_from_table", "value_set_from_data", "scope")
_COLUMN_ARGS = ("column", "column_A", "column_B")


class SuiteError(ValueError):
    """A suite file is malformed (unknown severity, missing why, no table)."""


@dataclass(frozen=True)
class Spec:
    """One expectation as written in a suite file."""

    type: str
    kwargs: dict
    severity: str
    why: str
    where: dict | None = None
    value_set_from_table: str | None = None
    value_set_from_data: str | None = None
    scope: str = "notice"

    @property
    def columns(self) -> list[str]:
        """Return the columns the expectation reads (its own and its row condition's)."""
        cols = [self.kwargs[a] for a in _COLUMN_ARGS if a in self.kwargs]
        cols += list(self.kwargs.get("column_list", []))
        return cols + list(self.where or {})

    @property
    def reference_column(self) -> str | None:
        """Name the snapshot column holding values missing from the referenced table (NULL where present).

        References are checked in SQL when the snapshot is written, not as a GX value set: a value set of every
        provision id is copied by GX for each metric and grows the gate's time with the square of the corpus.
        """
        if not self.value_set_from_table:
            return None
        return f"{self.kwargs['column']}__missing_from__{self.value_set_from_table.replace('.', '__')}"

    @property
    def parameter(self) -> str | None:
        """Return the GX suite parameter name of a value set taken from a register, if any."""
        if self.value_set_from_data:
            return "data__" + self.value_set_from_data.replace(".toml#", "__").replace(".", "__")
        return None

    @property
    def label(self) -> str:
        """Name the expectation for people: type and the columns it reads."""
        args = ", ".join(str(self.kwargs[a]) for a in _COLUMN_ARGS if a in self.kwargs)
        args = args or ", ".join(self.kwargs.get("column_list", []))
        where = " where " + " and ".join(f"{k}={v}" for k, v in self.where.items()) if self.where else ""
        ref = f" in {self.value_set_from_table}" if self.value_set_from_table else ""
        return f"{self.type}({args}){ref}{where}"


@dataclass(frozen=True)
class Suite:
    """Expectations on one batch: a warehouse table, or a query over several (`sql` set)."""

    name: str
    table: str
    specs: tuple[Spec, ...]
    index: tuple[str, ...] = ()
    sql: str | None = None
    why: str = ""
    file: str = ""
    scope: str = "notice"


def _scope(value, default: str, where: str) -> str:
    scope = value or default
    if scope not in SCOPES:
        raise SuiteError(f"{where}: scope {scope!r} is not one of {SCOPES}")
    return scope


def default_scope(table: str) -> str:
    """Return the scope a table's expectations take unless they say otherwise."""
    from pipeline.warehouse.schema import TABLES

    t = TABLES.get(table)
    return "notice" if (t is not None and t.per_file) or table in NOTICE_TABLES_EXTRA else "warehouse"


def _spec(entry: dict, where: str, scope: str = "notice") -> Spec:
    if "type" not in entry:
        raise SuiteError(f"{where}: an expectation without `type`")
    sev = entry.get("severity")
    if sev not in SEVERITIES:
        raise SuiteError(f"{where}: {entry['type']} has severity {sev!r}, not one of {SEVERITIES}")
    if not str(entry.get("why", "")).strip():
        raise SuiteError(f"{where}: {entry['type']} does not say why it exists (`why = ...`)")
    kwargs = {k: v for k, v in entry.items() if k not in _OURS}
    return Spec(entry["type"], kwargs, sev, entry["why"].strip(), entry.get("where"),
                entry.get("value_set_from_table"), entry.get("value_set_from_data"),
                _scope(entry.get("scope"), scope, where))


def read_suite_file(path: Path, keys: dict[str, tuple[str, ...]] | None = None) -> list[Suite]:
    """Read one suite file: the table's suite, then one suite per `[[check]]` query."""
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    table = doc.get("table")
    if not table:
        raise SuiteError(f"{path.name}: no `table = ...`")
    index = tuple(doc.get("index") or (keys or {}).get(table) or ())
    file_scope = _scope(doc.get("scope"), default_scope(table), path.name)
    suites = []
    for scope in SCOPES:  # a table's expectations split into one suite per scope
        specs = tuple(s for i, e in enumerate(doc.get("expect", []))
                      if (s := _spec(e, f"{path.name} [[expect]] {i + 1}", file_scope)).scope == scope)
        if specs or (scope == file_scope and not doc.get("expect")):
            name = table if scope == file_scope else f"{table}@{scope}"
            suites.append(Suite(name, table, specs, index, None, doc.get("why", ""), path.name, scope))
    for check in doc.get("check", []):
        name = f"{table}.{check['name']}"
        where = f"{path.name} check {check['name']}"
        scope = _scope(check.get("scope"), file_scope, where)
        specs = tuple(_spec(e, where, scope) for e in check.get("expect", []))
        if not check.get("sql") or not specs:
            raise SuiteError(f"{path.name}: check {check['name']} needs `sql` and at least one [[check.expect]]")
        if any(s.scope != scope for s in specs):
            raise SuiteError(f"{where}: set scope on the check, not on its expectations")
        suites.append(Suite(name, table, specs, tuple(check.get("index", ())), check["sql"],
                            check.get("why", ""), path.name, scope))
    return suites


def load_suites(directory: Path = EXPECTATIONS_DIR) -> list[Suite]:
    """Read every suite file in the folder (table suites in file order, each followed by its checks), then the
    default suites of the typed tables profiles define (unless a file of the folder guards one)."""
    from pipeline.warehouse.schema import KIND_TABLES, TABLES

    keys = {name: t.key for name, t in TABLES.items()}
    suites = [s for path in sorted(directory.glob("*.toml")) for s in read_suite_file(path, keys)]
    guarded = {s.table for s in suites}
    return suites + [s for kind in KIND_TABLES if kind not in guarded for s in kind_suites(kind)]


def kind_suites(table: str) -> list[Suite]:
    """The default expectations of a profile-defined table: keys not null and unique, rows reconcile with the
    source table, every row points at a loaded source table."""
    why = "Default expectations of a table a profile in table_profiles.toml defines."
    spec = lambda type_, why_, **kw: Spec(type_, kw, "critical", why_)  # noqa: E731
    rows = Suite(table, table, (
        spec("expect_column_values_to_not_be_null", "The record id is how findings and reviews point at a row.",
             column="record_id"),
        spec("expect_column_values_to_be_unique", "A repeated id doubles the row in every count (check the profile's key).",
             column="record_id"),
        spec("expect_column_values_to_not_be_null", "Every row belongs to a notice.", column="notice_id"),
        Spec("expect_column_values_to_be_in_set", {"column": "table_id"}, "critical",
             "Each row comes from a table loaded in source_tables.", value_set_from_table="source_tables.table_id"),
    ), ("record_id",), None, why, f"(profile-defined: {table})")
    check = Suite(f"{table}.rows_per_table", table, (
        spec("expect_column_pair_values_to_be_equal", "One typed row per data row of the source table: none lost, "
             "none invented.", column_A="rows", column_B="source_rows"),
    ), ("table_id",), f"""SELECT k.table_id, any_value(k.notice_id) AS notice_id, CAST(count(*) AS INTEGER) AS rows,
        any_value(t.n_data_rows) AS source_rows FROM "{table}" k JOIN source_tables t USING (table_id) GROUP BY k.table_id""",
        why, f"(profile-defined: {table})")
    return [rows, check]


def data_value_set(ref: str, data_dir: Path | None = None) -> list:
    """Return the accepted values at `file.toml#dotted.key` in a data file, kept there with their register.

    A key part applied to a list of tables takes that field of each (`agencies.toml#agency.id`); a table at the
    end gives its keys (`flag_rules.toml#rules`). Without data_dir the file is the one the pipeline reads (a
    POLICY_DATA_DIR overlay's, else the package's).
    """
    file, _, key = ref.partition("#")
    if data_dir is None:
        found = data_path(file)
        data_dir = (found if found.exists() else data_path(file.removesuffix(".toml"))).parent
    folder = data_dir / file.removesuffix(".toml")
    if not (data_dir / file).exists() and folder.is_dir():  # a register kept as one file per jurisdiction
        return sorted({v for path in sorted(folder.glob("*.toml"))
                       for v in data_value_set(f"{path.name}#{key}", folder)}, key=str)
    with open(data_dir / file, "rb") as fh:
        value = tomllib.load(fh)
    for part in key.split("."):
        if isinstance(value, list):
            value = [v[part] for v in value if isinstance(v, dict) and part in v]
        else:
            value = value[part]
    if isinstance(value, dict):
        value = list(value)
    if not isinstance(value, list) or not value:
        raise SuiteError(f"{ref} is not a non-empty list of accepted values")
    return sorted(set(value), key=str)


def spec_to_expectation(spec: Spec, suite: Suite | None = None):
    """Build the GX expectation object for a spec (row condition and parameterized value set included)."""
    from great_expectations.expectations.registry import get_expectation_impl
    from great_expectations.expectations.row_conditions import Column

    kwargs = dict(spec.kwargs)
    type_ = spec.type
    if spec.reference_column:
        type_ = "expect_column_values_to_be_null"
        kwargs = {"column": spec.reference_column, **({"mostly": kwargs["mostly"]} if "mostly" in kwargs else {})}
    elif spec.parameter:
        kwargs["value_set"] = {"$PARAMETER": spec.parameter}
    if spec.where:
        condition = None
        for col, value in spec.where.items():
            c = Column(col).is_in(value) if isinstance(value, list) else Column(col) == value
            condition = c if condition is None else condition & c
        kwargs["row_condition"] = condition
    meta = {"why": spec.why, "severity": spec.severity, "label": spec.label}
    if suite is not None:
        meta["suite"] = suite.name
    return get_expectation_impl(type_)(**kwargs, severity=spec.severity, notes=spec.why, meta=meta)
