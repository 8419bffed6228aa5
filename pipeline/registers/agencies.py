"""The agency register: canonical agencies, their aliases and succession, and unit names resolved to them.

Notices name units as they were called at the time (市卫生局, 市劳动和社会保障局); the register maps each
spelling to one entry and follows `successor` links to the body that exists today, so assignments can be
counted across renamings and mergers. Units the register does not know are reported, never guessed.

The register is one file per jurisdiction (pipeline/data/agencies/<code>-<name>.toml). ``resolve`` with a
``jurisdiction`` looks only at that jurisdiction's entries and its parents' (the national file everywhere):
市卫生健康委 on a Guangzhou notice never resolves to Xiamen's commission. ``jurisdiction=None`` (unknown)
allows national entries only; the default ``ANY_JURISDICTION`` searches every file (single-city callers).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline.config import data_path

LEVELS = ("municipal", "district", "class", "provincial", "national")
ANY_JURISDICTION = "*"
SUCCESSIONS = ("renamed", "merged", "split")
_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")


class RegisterError(ValueError):
    """The agency register file is inconsistent; the message names the entry and the problem."""


@dataclass(frozen=True)
class Agency:
    """One entry of the register."""

    id: str
    name: str
    level: str
    sector: str = ""
    full_name: str = ""
    aliases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    successor: str | None = None
    succession: str | None = None
    succeeded_on: str | None = None
    source: str = ""
    note: str = ""
    jurisdiction: str = ""  # code of the register file's jurisdiction; "" = unscoped (a test register)


@dataclass(frozen=True)
class AgencyMatch:
    """A unit name resolved to a register entry."""

    agency_id: str
    name: str
    level: str
    sector: str
    matched_text: str  # the text as given
    matched_alias: str  # the register spelling it matched (name, alias or pattern)
    is_old_name: bool  # the entry has a successor: the name is a predecessor's
    current_id: str  # last entry along the successor chain (itself when current)
    current_name: str
    via: str  # "name", "alias", "prefix" (厦门市… read as 市…) or "pattern"


def match_key(text: str) -> str:
    """Return the form names are compared in: NFKC, whitespace removed."""
    return "".join(unicodedata.normalize("NFKC", text).split())


@dataclass
class AgencyRegister:
    """Agencies by id, with an index from every spelling to its entries (one per jurisdiction at most)."""

    agencies: dict[str, Agency]
    prefix_equivalents: tuple[tuple[str, str], ...] = ()  # of unscoped entries (a single-file register)
    scoped_prefixes: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    lineage: object = None  # code -> [code, parent, …, national]; None: jurisdictions are not followed
    _index: dict[str, list[tuple[str, str]]] = field(default_factory=dict, repr=False)
    _patterns: list[tuple[re.Pattern, str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        for a in self.agencies.values():
            for spelling, how in [(a.name, "name"), *((x, "alias") for x in a.aliases)]:
                key = match_key(spelling)
                entries = self._index.setdefault(key, [])
                clash = next((i for i, _ in entries if i != a.id and self.agencies[i].jurisdiction == a.jurisdiction), None)
                if clash:
                    raise RegisterError(f"agency {a.id}: spelling {spelling!r} already belongs to {clash}")
                if all(i != a.id for i, _ in entries):
                    entries.append((a.id, how))
            self._patterns.extend((re.compile(p), a.id) for p in a.patterns)
        self._check_succession()

    def _check_succession(self) -> None:
        for a in self.agencies.values():
            if a.successor is None:
                continue
            if a.successor not in self.agencies:
                raise RegisterError(f"agency {a.id}: successor {a.successor!r} is not in the register")
            if not (a.source or a.note):
                raise RegisterError(f"agency {a.id}: a succession needs a `source` saying where the fact comes from")
            if a.succession not in SUCCESSIONS:
                raise RegisterError(f"agency {a.id}: succession must be one of {SUCCESSIONS}, not {a.succession!r}")
            if a.succeeded_on and not _DATE.match(a.succeeded_on):
                raise RegisterError(f"agency {a.id}: succeeded_on {a.succeeded_on!r} is not YYYY[-MM[-DD]]")
            self.chain(a.id)  # raises on a cycle

    def chain(self, agency_id: str) -> list[str]:
        """Return the ids from this entry to the current body, following successors."""
        seen = [agency_id]
        while (nxt := self.agencies[seen[-1]].successor) is not None:
            if nxt in seen:
                raise RegisterError(f"agency {agency_id}: successor chain loops ({' -> '.join(seen + [nxt])})")
            seen.append(nxt)
        return seen

    def predecessors(self, agency_id: str) -> list[str]:
        """Return every entry whose chain leads to this one (itself excluded)."""
        return [a for a in self.agencies if a != agency_id and agency_id in self.chain(a)]

    def _match(self, agency_id: str, text: str, alias: str, via: str) -> AgencyMatch:
        a = self.agencies[agency_id]
        current = self.agencies[self.chain(agency_id)[-1]]
        return AgencyMatch(
            a.id, a.name, a.level, a.sector, text, alias, a.successor is not None, current.id, current.name, via
        )

    def allowed(self, jurisdiction: str | None) -> set[str] | None:
        """Return the jurisdiction codes a notice of ``jurisdiction`` may resolve against (None: all)."""
        if jurisdiction == ANY_JURISDICTION:
            return None
        from pipeline.registers.jurisdictions import NATIONAL

        if jurisdiction is None or self.lineage is None:
            return {"", NATIONAL} if jurisdiction is None else {"", NATIONAL, jurisdiction}
        try:
            return {"", *self.lineage(jurisdiction)}
        except KeyError:
            return {"", NATIONAL}

    def _lookup(self, key: str, allowed: set[str] | None) -> tuple[str, str] | None:
        hits = [(i, how) for i, how in self._index.get(key, ()) if allowed is None or self.agencies[i].jurisdiction in allowed]
        if len(hits) > 1 and allowed is None:
            return None  # the same spelling in two jurisdictions: only a notice's jurisdiction decides
        return hits[0] if hits else None

    def _prefixes(self, allowed: set[str] | None) -> list[tuple[str, str]]:
        scoped = [p for code, ps in self.scoped_prefixes.items() if allowed is None or code in allowed for p in ps]
        return [*self.prefix_equivalents, *scoped]

    def resolve(self, text: str, *, patterns: bool = True,
                jurisdiction: str | None = ANY_JURISDICTION) -> AgencyMatch | None:
        """Resolve a unit name by exact spelling, then a prefix equivalent (厦门市→市), then a class pattern,
        among the entries of ``jurisdiction`` and its parents."""
        key = match_key(text)
        if not key:
            return None
        allowed = self.allowed(jurisdiction)
        if hit := self._lookup(key, allowed):
            return self._match(hit[0], text, key, hit[1])
        for written, canonical in self._prefixes(allowed):
            if key.startswith(written) and (hit := self._lookup(canonical + key[len(written):], allowed)):
                return self._match(hit[0], text, canonical + key[len(written):], "prefix")
        for pattern, agency_id in self._patterns if patterns else ():
            if (allowed is None or self.agencies[agency_id].jurisdiction in allowed) and pattern.search(key):
                return self._match(agency_id, text, pattern.pattern, "pattern")
        return None


def _agency(entry: dict, jurisdiction: str = "") -> Agency:
    missing = [k for k in ("id", "name", "level") if not entry.get(k)]
    if missing:
        raise RegisterError(f"agency entry {entry.get('id') or entry.get('name') or entry!r}: missing {missing}")
    if entry["level"] not in LEVELS:
        raise RegisterError(f"agency {entry['id']}: level must be one of {LEVELS}, not {entry['level']!r}")
    if entry.get("patterns") and entry["level"] != "class":
        raise RegisterError(f"agency {entry['id']}: only a class may have patterns")
    return Agency(
        id=entry["id"],
        name=entry["name"],
        level=entry["level"],
        sector=entry.get("sector", ""),
        full_name=entry.get("full_name", ""),
        aliases=tuple(entry.get("aliases", ())),
        patterns=tuple(entry.get("patterns", ())),
        successor=entry.get("successor"),
        succession=entry.get("succession"),
        succeeded_on=entry.get("succeeded_on"),
        source=entry.get("source", ""),
        note=entry.get("note", ""),
        jurisdiction=jurisdiction,
    )


def load_agency_register(path: Path | None = None) -> AgencyRegister:
    """Read and check the agency register: every file of pipeline/data/agencies/ by default, or one file."""
    return _load(str(path or data_path("agencies")))


def register_files(path: Path) -> list[Path]:
    """Return the TOML files of a register folder (sorted), or the one file given."""
    return sorted(path.glob("*.toml")) if path.is_dir() else [path]


@lru_cache(maxsize=8)
def _load(path: str) -> AgencyRegister:
    from pipeline.registers.jurisdictions import load_jurisdictions

    agencies: dict[str, Agency] = {}
    unscoped: list[tuple[str, str]] = []
    scoped: dict[str, tuple[tuple[str, str], ...]] = {}
    jurisdictions = load_jurisdictions()
    for file in register_files(Path(path)):
        with open(file, "rb") as fh:
            doc = tomllib.load(fh)
        reg = doc.get("register", {})
        code = str(reg.get("jurisdiction", ""))
        if code and code not in jurisdictions.by_code:
            raise RegisterError(f"{file.name}: jurisdiction {code!r} is not in jurisdictions.toml")
        for entry in doc.get("agency", []):
            a = _agency(entry, code)
            if a.id in agencies:
                raise RegisterError(f"agency id {a.id!r} appears twice in {path}")
            agencies[a.id] = a
        prefixes = tuple((match_key(w), match_key(c)) for w, c in reg.get("prefix_equivalents", ()))
        if code:
            scoped[code] = scoped.get(code, ()) + prefixes
        else:
            unscoped.extend(prefixes)
    return AgencyRegister(agencies, tuple(unscoped), scoped, jurisdictions.lineage)


def resolve_unit(text: str, register: AgencyRegister | None = None,
                 jurisdiction: str | None = ANY_JURISDICTION) -> AgencyMatch | None:
    """Resolve a unit or supplier name (市卫生局, 厦门市民政局, 民政部门, 残联) to a register entry, or None."""
    return (register or load_agency_register()).resolve(text, jurisdiction=jurisdiction)
