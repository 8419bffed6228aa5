"""Quantitative targets in a task's text: 到2012年，老年人健康档案建档率城市达到95%以上 -> year, indicator, value.

The vocabulary (deadline patterns, units, verbs, scope words, comparators) lives in the ``[targets]`` table of
pipeline/data/task_profiles.toml. A target is a clause that ends in a number with a unit; a deadline
(到2012年) applies to the clauses after it up to the end of the sentence; a clause that is only a scope
(农村达到60%以上) reuses the indicator of the clause before it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.config import data_path


@dataclass(frozen=True)
class TargetSettings:
    """Vocabulary for reading targets."""

    years: tuple[re.Pattern, ...]
    sentence_end: str
    clause_separators: str
    clause: re.Pattern
    scopes: tuple[str, ...]
    comparators: tuple[tuple[frozenset[str], str], ...]

    def comparator(self, *words: str | None) -> str:
        """Return the comparator symbol for the verb and bound words around a value; ``=`` when unbounded."""
        said = {w for w in words if w}
        return next((symbol for ws, symbol in self.comparators if ws & said), "=")


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def load_target_settings(path: Path | None = None) -> TargetSettings:
    """Read the ``[targets]`` vocabulary from TOML."""
    return _load(str(path or data_path("task_profiles.toml")))


@lru_cache(maxsize=8)
def _load(path: str) -> TargetSettings:
    with open(path, "rb") as fh:
        t = tomllib.load(fh)["targets"]
    comparators = tuple((frozenset(c["words"]), c["symbol"]) for c in t.get("comparator", ()))
    bounds = sorted({w for ws, _ in comparators for w in ws})
    clause = re.compile(
        rf"^(?P<head>.*?)(?P<verb>{_alternation(t['verbs'])})?\s*(?P<approx>约)?"
        rf"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>{_alternation(t['units'])})(?P<bound>{_alternation(bounds)})?$"
    )
    return TargetSettings(
        years=tuple(re.compile(p) for p in t["year"]),
        sentence_end=t.get("sentence_end", "。！？"),
        clause_separators=t.get("clause_separators", "，；"),
        clause=clause,
        scopes=tuple(sorted(t.get("scopes", ()), key=len, reverse=True)),
        comparators=comparators,
    )


def _split(text: str, seps: str) -> list[str]:
    return [p for p in re.split(f"[{re.escape(seps)}]", text)]


def _indicator_and_scope(head: str, scopes: tuple[str, ...], previous: str | None) -> tuple[str | None, str | None]:
    head = head.strip()
    if head in scopes:
        return previous, head
    for s in scopes:
        if head.endswith(s) and len(head) > len(s):
            return head[: -len(s)], s
    return head or previous, None


def text_to_targets(text: str, settings: TargetSettings | None = None) -> list[dict]:
    """Read the targets of one task's text: year, indicator, scope, comparator, value, unit and the clause."""
    st = settings or load_target_settings()
    found: list[dict] = []
    for sentence in _split(text, st.sentence_end):
        year: int | None = None
        indicator: str | None = None
        for clause in _split(sentence, st.clause_separators):
            clause = clause.strip()
            for pat in st.years:
                if m := pat.search(clause):
                    year = int(m.group("year"))
                    clause = (clause[: m.start()] + clause[m.end() :]).strip()
                    break
            m = st.clause.match(clause)
            if not clause or not m:
                continue
            indicator, scope = _indicator_and_scope(m.group("head"), st.scopes, indicator)
            found.append(
                {
                    "target_year": year,
                    "indicator": indicator,
                    "scope": scope,
                    "comparator": "≈" if m.group("approx") else st.comparator(m.group("verb"), m.group("bound")),
                    "value": float(m.group("value")),
                    "unit": m.group("unit"),
                    "value_text": clause[m.start("value") :],
                    "target_text": clause,
                }
            )
    return found


def tasks_to_targets(tasks: list[dict], settings: TargetSettings | None = None) -> list[dict]:
    """Read targets from every task record; each row keeps the task's key and lineage."""
    rows = []
    for task in tasks:
        for n, t in enumerate(text_to_targets(task["task_text"], settings), start=1):
            rows.append(
                {
                    "target_id": f"{task['task_id']}:t{n}",
                    "task_id": task["task_id"],
                    "notice_id": task["notice_id"],
                    "target_no": n,
                    **t,
                    "source_format": task["source_format"],
                    "raw_file": task["raw_file"],
                    "raw_sha256": task["raw_sha256"],
                    "locator": task["locator"],
                    "page": task["page"],
                }
            )
    return rows
