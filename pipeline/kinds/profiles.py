"""Table profiles as data: which header words identify a kind of table, its fields, and — for a new kind — the
typed table it fills.

A profile whose ``target`` is not one of the built-in typed tables defines a table of its own: the pipeline
creates it (``record_id``, ``notice_id``, ``table_id``, ``row_no``, the profile's fields, ``extra`` for header
columns no field names, lineage), its data-dictionary entry and its default expectations. A field is text unless
``[profile.types]`` gives it ``integer``, ``decimal``, ``date`` or ``amount`` (a number with its unit); a typed
field keeps its published text and gets ``<field>_value`` (and ``<field>_unit`` for an amount) beside it.

A wrong profile is refused when the data files load (ProfileError names the file, the profile and the fix); it
never fails a notice while it is being read.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline.config import data_path
from pipeline.errors import PipelineError

BUILT_IN_TARGETS = ("service_provisions", "tasks")  # typed tables with their own reader (pipeline/kinds/*.py)
FIELD_TYPES = {"text": None, "integer": "BIGINT", "decimal": "DOUBLE", "date": "DATE", "amount": "DOUBLE"}
RESERVED = ("record_id", "notice_id", "table_id", "row_no", "section", "extra", "source_format", "raw_file",
            "raw_sha256", "locator", "pages", "partition_key")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class ProfileError(PipelineError):
    """A table profile in the data files is wrong; nothing is read until it is fixed."""

    hint = "fix the profile in pipeline/data/table_profiles.toml (see the comments at its top), then refresh"


@dataclass(frozen=True)
class TableProfile:
    """A kind of table: its header vocabulary, where its rows go and the types of its fields."""

    kind: str
    target: str
    fields: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    min_header_matches: int
    section_field: str | None = None
    section_prefix: str = ""
    types: dict[str, str] = field(default_factory=dict)  # field -> integer | decimal | date | amount
    key: tuple[str, ...] = ()  # fields whose values make the record id (default: table and row number)
    file: str = ""

    def __post_init__(self) -> None:
        missing = [f for req in self.required for f in req.split("|") if f not in self.fields]  # a|b: either
        if missing:
            raise ValueError(f"table profile {self.kind}: required fields {missing} have no synonyms")
        if not 1 <= self.min_header_matches <= len(self.fields):
            raise ValueError(f"table profile {self.kind}: min_header_matches out of range")

    @property
    def is_built_in(self) -> bool:
        return self.target in BUILT_IN_TARGETS

    def strip_section(self, text: str) -> str:
        """Remove the ordinal prefix of a section row (一、照护服务类 -> 照护服务类)."""
        return re.sub(self.section_prefix, "", text, count=1) if self.section_prefix else text


def _refuse(file: str, kind: str, what: str, fix: str) -> ProfileError:
    return ProfileError(f"{file}: profile {kind!r}: {what}", file=file, stage="profiles", hint=fix)


def profile_from_entry(p: dict, file: str, core_tables: set[str]) -> TableProfile:
    """Build one profile from its TOML entry, refusing what cannot work."""
    kind = p.get("kind") or "?"
    if not isinstance(p.get("kind"), str) or not _NAME.match(p["kind"]):
        raise _refuse(file, kind, "`kind` must be a lower-case name (letters, digits, _)", 'write e.g. kind = "fee_list"')
    target = p.get("target")
    if not isinstance(target, str) or not _NAME.match(target):
        raise _refuse(file, kind, "`target` must be a lower-case table name", 'write e.g. target = "fee_standards"')
    if target in core_tables and target not in BUILT_IN_TARGETS:
        raise _refuse(file, kind, f"target {target!r} is a core warehouse table", "choose another target name")
    fields = p.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise _refuse(file, kind, "no [profile.fields]", "list each field with its header synonyms")
    for name, synonyms in fields.items():
        if not _NAME.match(name) or name in RESERVED:
            raise _refuse(file, kind, f"field name {name!r} is not allowed", f"rename it (reserved: {', '.join(RESERVED)})")
        if not isinstance(synonyms, list) or not synonyms or not all(isinstance(s, str) and s.strip() for s in synonyms):
            raise _refuse(file, kind, f"field {name!r} has no header synonyms", f'write {name} = ["表头文字", …]')
    required = tuple(p.get("required", ()))
    for name in (f for req in required for f in req.split("|")):  # `a|b` is satisfied by either field
        if name not in fields:
            raise _refuse(file, kind, f"required field {name!r} has no synonyms", f"add {name} = [...] to [profile.fields]")
    types = dict(p.get("types", {}))
    for name, type_ in types.items():
        if name not in fields:
            raise _refuse(file, kind, f"[profile.types] names {name!r}, which is not a field", "add the field or drop the type")
        if type_ not in FIELD_TYPES:
            raise _refuse(file, kind, f"field {name!r} has unknown type {type_!r}", f"use one of {', '.join(FIELD_TYPES)}")
    if target in BUILT_IN_TARGETS and types:
        raise _refuse(file, kind, f"types are set by the built-in table {target}", "remove [profile.types]")
    n = p.get("min_header_matches", 2)
    if not isinstance(n, int) or not 1 <= n <= len(fields):
        raise _refuse(file, kind, f"min_header_matches {n!r} is not between 1 and the {len(fields)} fields",
                      "lower it or add fields")
    key = tuple(p.get("key", ()))
    if any(k not in fields for k in key):
        raise _refuse(file, kind, f"key {list(key)} names fields that are not in [profile.fields]", "fix `key`")
    return TableProfile(kind, target, {k: tuple(v) for k, v in fields.items()}, required, n, p.get("section_field"),
                        p.get("section_prefix", ""), {k: v for k, v in types.items() if v != "text"}, key, file)


def check_targets(profiles: tuple[TableProfile, ...]) -> None:
    """Refuse two profiles filling one new table with different fields or types (its columns would clash)."""
    seen: dict[str, TableProfile] = {}
    for p in profiles:
        if p.is_built_in:
            continue
        other = seen.setdefault(p.target, p)
        if other is not p and (set(other.fields) != set(p.fields) or other.types != p.types):
            raise _refuse(p.file, p.kind, f"target {p.target!r} is also filled by profile {other.kind!r} with other "
                          "fields or types", "give both the same fields and types, or another target")
    kinds = [p.kind for p in profiles]
    if dup := sorted({k for k in kinds if kinds.count(k) > 1}):
        raise _refuse(profiles[0].file, dup[0], "the kind is defined twice", "rename one of them")


def load_table_profiles(path: Path | None = None) -> list[TableProfile]:
    """Read and check the table profiles (pipeline/data/table_profiles.toml, or the data overlay's)."""
    return list(_load(str(path or data_path("table_profiles.toml"))))


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[TableProfile, ...]:
    from pipeline.warehouse.schema import CORE_TABLES

    name = Path(path).name
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"{name}: cannot be read: {exc}", file=name, stage="profiles") from None
    profiles = tuple(profile_from_entry(p, name, CORE_TABLES) for p in doc.get("profile", []))
    check_targets(profiles)
    return profiles
