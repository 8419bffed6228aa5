"""The jurisdiction register: where a notice applies, from its site domain, issuer or 文号 prefix.

A notice's jurisdiction scopes agency resolution: 市卫生健康委 on a Guangzhou notice is Guangzhou's, never
Xiamen's. Resolution order is the site domain (the most reliable: the site belongs to one government),
then the issuer's name, then the 文号 prefix (穗, 厦, 闽 …); none known leaves the notice's jurisdiction
NULL, with the reason.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.config import data_path

LEVELS = ("国家", "省", "市", "区县")
NATIONAL = "100000"


class JurisdictionRegisterError(ValueError):
    """The jurisdiction register file is inconsistent; the message names the entry and the problem."""


@dataclass(frozen=True)
class Jurisdiction:
    """One administrative area and how its notices show it."""

    code: str
    name: str
    level: str
    parent: str = ""
    domains: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    doc_prefixes: tuple[str, ...] = ()
    issuer_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class JurisdictionMatch:
    """A notice's jurisdiction and what decided it (``site_domain:xm.gov.cn``, ``issuer:厦门市``, ``doc_number:穗``)."""

    code: str
    name: str
    level: str
    how: str


@dataclass
class JurisdictionRegister:
    """Jurisdictions by code."""

    by_code: dict[str, Jurisdiction]

    def lineage(self, code: str) -> list[str]:
        """Return the code and its parents' codes up to the national level."""
        out = [code]
        while (parent := self.by_code[out[-1]].parent) and parent not in out:
            out.append(parent)
        return out

    def _match(self, j: Jurisdiction, how: str) -> JurisdictionMatch:
        return JurisdictionMatch(j.code, j.name, j.level, how)

    def by_host(self, host_or_url: str | None) -> JurisdictionMatch | None:
        """Resolve a site host (or URL, or CMS SiteDomain list ``a.gov.cn,b.gov.cn``) to its jurisdiction."""
        for raw in (host_or_url or "").split(","):
            raw = raw.strip().lower()
            host = (urlsplit(raw).hostname if "//" in raw else raw.split("/")[0]) or ""
            best: tuple[int, Jurisdiction, str] | None = None
            for j in self.by_code.values():
                for d in j.hosts:
                    if host == d and (best is None or len(d) > best[0]):
                        best = (len(d), j, d)
                for d in j.domains:
                    if (host == d or host.endswith("." + d)) and (best is None or len(d) > best[0]):
                        best = (len(d), j, d)
            if best:
                return self._match(best[1], f"site_domain:{best[2]}")
        return None

    def _by_prefix(self, text: str | None, attr: str, how: str) -> JurisdictionMatch | None:
        text = "".join((text or "").split())
        best: tuple[int, Jurisdiction, str] | None = None
        for j in self.by_code.values():
            for p in getattr(j, attr):
                if text.startswith(p) and (best is None or len(p) > best[0]):
                    best = (len(p), j, p)
        return self._match(best[1], f"{how}:{best[2]}") if best else None

    def by_issuers(self, issuer: str | None) -> list[JurisdictionMatch]:
        """Resolve each of an issuer field's names by its prefix (厦门市民政局 → 厦门市); joint issuers are
        separated by 、 or spaces."""
        names = (issuer or "").replace("、", " ").split()
        return [m for name in names if (m := self._by_prefix(name, "issuer_prefixes", "issuer"))]

    def by_doc_number(self, doc_number: str | None) -> JurisdictionMatch | None:
        """Resolve a 文号 by its prefix (穗府办〔2024〕1号 → 广州市)."""
        return self._by_prefix(doc_number, "doc_prefixes", "doc_number")

    def for_meta(self, meta: dict) -> tuple[JurisdictionMatch | None, str]:
        """Resolve a notice's jurisdiction from its metadata: site domain, issuers, then 文号 prefix; the title's
        opening place name only when none of them does.

        The first that resolves decides, unless a later one lies inside it: a national regulator's Zhejiang
        branch (国家金融监督管理总局浙江监管局, 浙金罚决字…) or a joint notice of it and 浙江省司法厅 is 浙江省's. One
        outside it (a provincial notice reposted on a city's site) does not move it.
        """
        found = [m for m in (self.by_host(meta.get("site_domain")), self.by_host(meta.get("page_url")),
                             *self.by_issuers(meta.get("issuer")), self.by_doc_number(meta.get("doc_number"))) if m]
        if not found and (by_title := self._by_prefix(meta.get("title"), "issuer_prefixes", "title")):
            found = [by_title]  # last: a title that opens with its area (安徽省建设用地使用标准, 上海市普陀区…预算)
        if not found:
            return None, ("none: no known site domain, issuer prefix, 文号 prefix or title prefix (add one to "
                          "jurisdictions.toml)")
        first = found[0]
        inside = [m for m in found if first.code in self.lineage(m.code)]
        best = max(inside, key=lambda m: len(self.lineage(m.code)))  # max keeps the earliest of equals
        return best, best.how if best is first else f"{best.how} (within {first.how})"


def _jurisdiction(entry: dict) -> Jurisdiction:
    missing = [k for k in ("code", "name", "level") if not entry.get(k)]
    if missing:
        raise JurisdictionRegisterError(f"jurisdiction {entry.get('code') or entry!r}: missing {missing}")
    if entry["level"] not in LEVELS:
        raise JurisdictionRegisterError(f"jurisdiction {entry['code']}: level must be one of {LEVELS}")
    return Jurisdiction(
        code=str(entry["code"]), name=entry["name"], level=entry["level"], parent=str(entry.get("parent", "")),
        domains=tuple(d.lower() for d in entry.get("domains", ())), hosts=tuple(d.lower() for d in entry.get("hosts", ())),
        doc_prefixes=tuple(entry.get("doc_prefixes", ())), issuer_prefixes=tuple(entry.get("issuer_prefixes", ())),
    )


def load_jurisdictions(path: Path | None = None) -> JurisdictionRegister:
    """Read and check the jurisdiction register (pipeline/data/jurisdictions.toml by default)."""
    return _load(str(path or data_path("jurisdictions.toml")))


@lru_cache(maxsize=8)
def _load(path: str) -> JurisdictionRegister:
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    by_code: dict[str, Jurisdiction] = {}
    for entry in doc.get("jurisdiction", []):
        j = _jurisdiction(entry)
        if j.code in by_code:
            raise JurisdictionRegisterError(f"jurisdiction {j.code} appears twice in {path}")
        by_code[j.code] = j
    for j in by_code.values():
        if j.parent and j.parent not in by_code:
            raise JurisdictionRegisterError(f"jurisdiction {j.code}: parent {j.parent!r} is not in the register")
    register = JurisdictionRegister(by_code)
    for code in by_code:
        if len(set(register.lineage(code))) != len(register.lineage(code)) or by_code[register.lineage(code)[-1]].parent:
            raise JurisdictionRegisterError(f"jurisdiction {code}: parent chain loops")
    return register


def meta_jurisdiction(meta: dict, register: JurisdictionRegister | None = None) -> dict:
    """Return the jurisdiction fields of a notice meta: jurisdiction_code, _name, _from (how, or why none)."""
    found, how = (register or load_jurisdictions()).for_meta(meta)
    return {"jurisdiction_code": found.code if found else None, "jurisdiction_name": found.name if found else None,
            "jurisdiction_from": how}
