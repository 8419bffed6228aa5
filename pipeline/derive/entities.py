"""Population and supplier cells to entities: one row per group or supplier named, with its span as published.

``其他孤寡、独居、……计划生育特殊家庭老年人,散居孤儿、……等有需求的特殊群众`` names 孤寡老年人, 独居老年人 … (a head
noun written once is shared by the bare names before it) and 散居孤儿 …; ``民政、残联、卫健等部门`` names three
agencies. Groups are made canonical through the population register (entities.toml), suppliers through the agency
register (agencies.toml, via ``pipeline.registers.agencies.resolve_unit``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.config import data_path


@dataclass(frozen=True)
class EntitySyntax:
    clause_separators: re.Pattern
    qualifiers: tuple[re.Pattern, ...]
    scope_marker: str
    heads: tuple[str, ...]
    population_names: dict[str, str]  # name or alias -> canonical name
    supplier_separators: re.Pattern
    supplier_head: re.Pattern
    own_suffixes: tuple[str, ...]


def load_entity_syntax(path: Path | None = None) -> EntitySyntax:
    """Read the entity vocabulary and the population register from TOML."""
    return _load(str(path or data_path("entities.toml")))


@lru_cache(maxsize=4)
def _load(path: str) -> EntitySyntax:
    with open(path, "rb") as fh:
        d = tomllib.load(fh)
    pop, sup = d["population"], d["supplier"]
    names: dict[str, str] = {}
    for g in pop.get("group", []):
        for n in [g["name"], *g.get("aliases", [])]:
            if names.setdefault(n, g["name"]) != g["name"]:
                raise ValueError(f"entities.toml: {n!r} names two population groups")
    return EntitySyntax(
        clause_separators=re.compile("|".join(map(re.escape, pop["clause_separators"]))),
        qualifiers=tuple(re.compile(q) for q in pop["qualifiers"]),
        scope_marker=pop["scope_marker"],
        heads=tuple(sorted(pop["heads"], key=len, reverse=True)),
        population_names=names,
        supplier_separators=re.compile(sup["separators"]),
        supplier_head=re.compile(sup["head_pattern"]),
        own_suffixes=tuple(sup["own_suffixes"]),
    )


def _split(text: str, start: int, end: int, sep: re.Pattern) -> list[tuple[int, int, str]]:
    """Split text[start:end] at a separator pattern into (start, end, separator-after) pieces, empties dropped."""
    pieces, pos = [], start
    for m in sep.finditer(text, start, end):
        pieces.append((pos, m.start(), m.group()))
        pos = m.end()
    pieces.append((pos, end, ""))
    return [p for p in pieces if p[1] > p[0]]


def _head(name: str, heads: tuple[str, ...]) -> str | None:
    """Return the head noun a group name ends with (longest first), None for a bare modifier like 孤寡."""
    return next((h for h in heads if name.endswith(h)), None)


def population_text_to_groups(text: str | None, syntax: EntitySyntax | None = None) -> list[dict]:
    """Name each population group of a 对象范围 cell, with span, shared head, qualifier, scope and umbrella."""
    if not text:
        return []
    syntax = syntax or load_entity_syntax()
    groups: list[dict] = []
    for c_start, c_end, _ in _split(text, 0, len(text), syntax.clause_separators):
        qualifier = None
        for q in syntax.qualifiers:
            m = q.match(text, c_start, c_end)
            if m and m.end() < c_end:
                qualifier, c_start = m.group(), m.end()
                break
        scope = None
        at = text.find(syntax.scope_marker, c_start, c_end)
        if at > c_start:
            scope, c_start = text[c_start:at], at + len(syntax.scope_marker)
        umbrella = None
        deng = text.rfind("等", c_start, c_end)
        if deng > c_start and "、" not in text[deng:c_end]:
            umbrella, c_end = text[deng + 1:c_end], deng  # "…等低收入对象": the names end at 等
        members = _split(text, c_start, c_end, re.compile("、"))
        names = [text[a:b] for a, b, _ in members]
        last_head = _head(names[-1], syntax.heads) if names else None
        shared = last_head if last_head and all(_head(n, syntax.heads) is None for n in names[:-1]) else None
        for (a, b, _), name in zip(members, names):
            full = name + shared if shared and not name.endswith(shared) else name
            groups.append({
                "group_as_written": name, "span_start": a, "span_end": b, "group_name": full,
                "canonical": syntax.population_names.get(full) or syntax.population_names.get(name),
                "qualifier": qualifier, "scope": scope, "umbrella": umbrella or None,
            })
    for seq, g in enumerate(groups, start=1):
        g["seq"] = seq
    return groups


def supplier_text_to_suppliers(text: str | None, syntax: EntitySyntax | None = None) -> list[dict]:
    """Name each supplier of a 供给主体 cell: as written, span, name, the 部门 head it takes and if open-ended (等)."""
    if not text:
        return []
    syntax = syntax or load_entity_syntax()
    tokens = _split(text, 0, len(text), syntax.supplier_separators)
    out: list[dict] = []
    pending = None  # the 部门 head of the token after, while the 、-run of bare names lasts
    for a, b, sep in reversed(tokens):
        token = text[a:b]
        if sep != "、":
            pending = None
        m = syntax.supplier_head.match(token)
        if m:
            name, head, shared = m.group(1), m.group(2), False
            pending = head
        elif pending and not token.endswith(syntax.own_suffixes):
            name, head, shared = token, pending, True
        else:
            name, head, shared, pending = token, None, False, None
        out.append({"supplier_as_written": token, "span_start": a, "span_end": b, "name": name, "head": head,
                    "head_shared": shared, "open_ended": bool(head and head.startswith("等"))})
    out.reverse()
    for seq, s in enumerate(out, start=1):
        s["seq"] = seq
    return out


Resolver = Callable[[str], "dict | None"]


def agency_resolver() -> Resolver:
    """Return a resolver over the agency register: text -> {agency_id, agency_name, is_old_name, current_*} or None."""
    from pipeline.registers.agencies import resolve_unit  # the tasks stage owns the register; imported late to keep modules apart

    def resolve(text: str) -> dict | None:
        m = resolve_unit(text)
        if m is None:
            return None
        return {
            "agency_id": m.agency_id,
            "agency_name": m.name,
            "is_old_name": bool(m.is_old_name),
            "current_agency_id": m.current_id,
            "current_name": m.current_name,
        }

    return resolve


def _resolve_supplier(s: dict, resolve: Resolver) -> dict | None:
    for candidate in (s["supplier_as_written"], s["name"], s["name"] + "部门" if s["head"] else None):
        if candidate and (hit := resolve(candidate)):
            return hit
    return None


_NO_AGENCY = {"agency_id": None, "agency_name": None, "is_old_name": None, "current_agency_id": None,
              "current_name": None}


def provisions_to_suppliers(provisions: list[dict], resolve: Resolver | None = None) -> list[dict]:
    """Turn service_provisions rows into provision_suppliers rows, canonical through the agency register."""
    resolve = resolve or agency_resolver()
    syntax = load_entity_syntax()
    rows = []
    for p in provisions:
        for s in supplier_text_to_suppliers(p.get("supplier_text"), syntax):
            hit = _resolve_supplier(s, resolve) or _NO_AGENCY
            rows.append({"supplier_id": f"{p['provision_id']}:{s['seq']}", "provision_id": p["provision_id"],
                         "notice_id": p["notice_id"], **s, **hit,
                         "raw_file": p["raw_file"], "raw_sha256": p["raw_sha256"]})
    return rows


def provisions_to_populations(provisions: list[dict]) -> list[dict]:
    """Turn service_provisions rows into provision_populations rows, canonical through the population register."""
    syntax = load_entity_syntax()
    rows = []
    for p in provisions:
        for g in population_text_to_groups(p.get("population"), syntax):
            rows.append({"population_group_id": f"{p['provision_id']}:{g['seq']}", "provision_id": p["provision_id"],
                         "notice_id": p["notice_id"], **g, "raw_file": p["raw_file"], "raw_sha256": p["raw_sha256"]})
    return rows
