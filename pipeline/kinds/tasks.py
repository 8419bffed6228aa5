"""Task-decomposition notices to tidy tasks and units: text blocks or a task table in, records out.

A plan assigns each task to lead units (牵头单位) and co-organizing units (协办单位), sometimes to the offices
(处室) inside them, and often a deadline (完成时限). Its outline (一、 / （一） / 1.) and labels come from a profile
in pipeline/data/task_profiles.toml; the text of a task is kept as published, a paragraph that a page break
split is joined and reported, units are split on 、 and resolved through the agency register
(pipeline/registers/agencies.py), a cut-off unit is kept and flagged, and a cell that says "no unit" (/, —, 无)
gives no unit. Only text with the structure of a task list is read (numbered items or outline headings with
unit lines); articles, contact lines and a site's copyright text never are (``[structure]`` of the profiles).
Task tables are read by pipeline/kinds/task_table.py into the same drafts.

Findings carry an explanation in ``message`` and, in ``suggestion``, only a replacement value (none here: a
finding of this module asks a reviewer to look, it never proposes a value).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline.registers.agencies import ANY_JURISDICTION, AgencyMatch, AgencyRegister, load_agency_register
from pipeline.config import data_path
from pipeline.errors import PipelineError
from pipeline.extract.blocks import Block, join_wrapped
from pipeline.model import Grid
from pipeline.kinds.recognize import RecognizedTable
from pipeline.derive.targets import tasks_to_targets
from pipeline.kinds.deadlines import text_to_deadline
from pipeline.text import squash

ROLES = ("lead", "co", "lead_office", "co_office")  # task_units.role
OFFICE_ROLES = ("lead_office", "co_office")
# What a label (or a table column) introduces: a unit role, a 责任单位 list (first lead, the rest co), a deadline.
LABEL_KINDS = (*ROLES, "responsible", "deadline")
_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


class NoStructureFound(PipelineError):
    """The notice's text has no recognizable task structure (no task carries a unit label)."""

    hint = "add the notice's outline patterns or unit labels to pipeline/data/task_profiles.toml"


@dataclass(frozen=True)
class TaskProfile:
    """How one layout of task-decomposition text marks its outline and unit labels."""

    name: str
    section: re.Pattern
    subsection: re.Pattern
    task: re.Pattern
    labels: dict[str, str]  # label as written -> one of LABEL_KINDS
    label_colon: str
    terminal_punctuation: str
    unit_separators: tuple[str, ...]
    compound_joiners: tuple[str, ...]
    fragment: re.Pattern
    not_task: tuple[re.Pattern, ...] = ()  # paragraphs that are never tasks ([structure] of the profiles file)
    no_unit: frozenset[str] = frozenset()  # cell texts that mean "no unit" ([units] none), folded
    unit_line_ends: tuple[str, ...] = ()  # a unit cell's lines that all end so hold one unit each ([units] line_ends)

    def is_not_task(self, text: str) -> bool:
        """Tell whether a paragraph is an article, a contact line or site text: never a task."""
        return any(p.search(text) for p in self.not_task)

    def is_no_unit(self, text: str) -> bool:
        """Tell whether a unit cell or mention says there is no unit (/, —, 无)."""
        return fold(text) in self.no_unit

    def lines_are_units(self, lines: list[str]) -> bool:
        """Tell whether a unit cell's lines are one unit each: every line ends like a whole unit name and is
        longer than two characters (员会 is the tail of a wrapped 委员会), or is one of the words (各区)."""
        folded = [fold(line) for line in lines]
        return len(lines) > 1 and all((len(x) > 2 and x.endswith(self.unit_line_ends))
                                      or (len(x) > 1 and x in self.unit_line_ends) for x in folded)

    def label_kind(self, header: str) -> str | None:
        """Return what a table column header introduces: the kind of the longest label it starts with."""
        h = fold(header)
        hits = [label for label in self.labels if h.startswith(fold(label))]
        return self.labels[max(hits, key=len)] if hits else None

    @property
    def label_re(self) -> re.Pattern:
        alts = "|".join(re.escape(x) for x in sorted(self.labels, key=len, reverse=True))
        # A label starts the block or follows punctuation, so 由市民政局牵头： inside a sentence is not one.
        return re.compile(rf"(?:^|(?<=[\s（(；;。，,]))(?P<label>{alts})\s*{self.label_colon}\s*")

    def split_units(self, text: str) -> list[str]:
        """Split a unit list into mentions as published; a trailing separator leaves an empty mention.
        A line break separates too: a list keeps one only between units written one per line."""
        return [m.strip() for m in re.split("|".join(map(re.escape, (*self.unit_separators, "\n"))), text)]


@dataclass
class TaskExtraction:
    """Records of one notice: rows for tables tasks, task_units and targets, plus findings for dq_flags."""

    tasks: list[dict] = field(default_factory=list)
    units: list[dict] = field(default_factory=list)
    targets: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    profile: str = ""


def fold(text: str) -> str:
    """Fold a label or a cell for comparison with vocabulary: whitespace removed, full-width forms NFKC-folded."""
    return unicodedata.normalize("NFKC", squash(text or ""))


def load_task_profiles(path: Path | None = None) -> list[TaskProfile]:
    """Read task-decomposition profiles from TOML."""
    return list(_load(str(path or data_path("task_profiles.toml"))))


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[TaskProfile, ...]:
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    not_task = tuple(re.compile(x) for x in doc.get("structure", {}).get("not_task", ()))
    no_unit = frozenset(fold(x) for x in doc.get("units", {}).get("none", ()))
    line_ends = tuple(fold(x) for x in doc.get("units", {}).get("line_ends", ()))
    out = []
    for p in doc.get("profile", []):
        for key, groups in (("section", ("no", "title")), ("subsection", ("no", "title")), ("task", ("no", "text"))):
            if missing := [g for g in groups if g not in re.compile(p[key]).groupindex]:
                raise ValueError(f"task profile {p['name']}: pattern `{key}` lacks named groups {missing} ({path})")
        if unknown := sorted(set(p["labels"]) - set(LABEL_KINDS)):
            raise ValueError(f"task profile {p['name']}: unknown label kinds {unknown}, not in {LABEL_KINDS} ({path})")
        labels = {label: kind for kind in LABEL_KINDS for label in p["labels"].get(kind, ())}
        out.append(
            TaskProfile(
                name=p["name"],
                section=re.compile(p["section"]),
                subsection=re.compile(p["subsection"]),
                task=re.compile(p["task"]),
                labels=labels,
                label_colon=p.get("label_colon", "[:：]"),
                terminal_punctuation=p.get("terminal_punctuation", "。！？；："),
                unit_separators=tuple(p.get("unit_separators", ["、"])),
                compound_joiners=tuple(p.get("compound_joiners", ())),
                fragment=re.compile(p.get("fragment", "^$")),
                not_task=not_task,
                no_unit=no_unit,
                unit_line_ends=line_ends,
            )
        )
    return tuple(out)


def cn_number(text: str | None) -> int | None:
    """Read 一 … 九十九 (and 〇/零 digits) as an int; None when it is not such a numeral."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        t = _CN_DIGITS.get(tens, -1) if tens else 1
        o = _CN_DIGITS.get(ones, -1) if ones else 0
        return None if t < 0 or o < 0 else t * 10 + o
    if all(ch in _CN_DIGITS for ch in text):
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    return None


# --- drafts: the outline as read, before records ---------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A piece of published text with where it came from."""

    text: str
    locator: str
    page: int | None = None
    pages: tuple[int, ...] = ()
    joined_page_break: bool = False
    page_break_at: int | None = None

    @classmethod
    def of(cls, block: Block, text: str | None = None) -> "Piece":
        """Take a block, or the part of its text given."""
        whole = cls(block.text, block.locator, block.page, block.pages, block.joined_page_break, block.page_break_at)
        return whole if text is None else whole.part(text)

    def part(self, text: str) -> "Piece":
        """Return a piece for part of this piece's text, with the same lineage."""
        start = self.text.find(text)
        at = self.page_break_at
        at = at - start if at is not None and 0 <= start < at < start + len(text) else None
        return Piece(text, self.locator, self.page, self.pages, self.joined_page_break and at is not None, at)

    def around_break(self) -> str:
        """Show the text on both sides of the page break (evidence for a finding)."""
        at = self.page_break_at if self.page_break_at is not None else 0
        return f"…{self.text[max(0, at - 12):at]} | {self.text[at:at + 12]}…"


@dataclass
class UnitList:
    """A label's (or a column's) units as published: what the label says (a kind of LABEL_KINDS) and how."""

    role: str
    label: str
    pieces: list[Piece]
    role_from: str = "label"  # label (a text label), column (a table column header); see task_units.role_from


@dataclass
class Draft:
    section: tuple[str, str] | None
    subsection: tuple[str, str] | None
    task_no: str | None
    pieces: list[Piece]
    unit_lists: list[UnitList] = field(default_factory=list)
    title: Piece | None = None  # a task table's title cell, when the table also has a content column
    deadline: Piece | None = None
    part: int | None = None  # the row's number among the rows of one 序号 cell (a rowspan'd number)
    group: object = None  # what ties the rows of one task: the origin of their 序号 cell
    extra: dict | None = None  # a task table's columns no task field reads: header → value


@dataclass
class _Item:
    kind: str  # section, subsection, task, text, labels, other (never a task: see TaskProfile.not_task)
    piece: Piece
    no: str | None = None
    title: str = ""
    labels: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, label, units text)


def _classify(block: Block, profile: TaskProfile) -> list[_Item]:
    """Turn one block into outline items: a heading, a task line, plain text and/or unit labels."""
    if profile.is_not_task(block.text):
        return [_Item("other", Piece.of(block))]
    hits = list(profile.label_re.finditer(block.text))
    pre = block.text[: hits[0].start()] if hits else block.text
    items: list[_Item] = []
    pre = pre.rstrip(" （(").strip()
    if pre:
        if m := profile.task.match(pre):
            items.append(_Item("task", Piece.of(block, m.group("text").strip()), m.group("no")))
        elif not hits and (m := profile.section.match(pre)):
            items.append(_Item("section", Piece.of(block), m.group("no"), m.group("title").strip()))
        elif not hits and (m := profile.subsection.match(pre)):
            items.append(_Item("subsection", Piece.of(block), m.group("no"), m.group("title").strip()))
        else:
            items.append(_Item("text", Piece.of(block, pre)))
    if hits:
        labels = []
        for h, nxt in zip(hits, hits[1:] + [None]):
            units = block.text[h.end() : nxt.start() if nxt else None].strip().rstrip("）)。；;，, ").strip()
            labels.append((profile.labels[h.group("label")], h.group("label"), units))
        items.append(_Item("labels", Piece.of(block), labels=labels))
    return items


def _continues_units(draft: Draft, nxt: _Item | None) -> bool:
    """Tell whether plain text after a unit list goes on with that list (a split paragraph)."""
    if nxt is not None and nxt.kind == "labels":
        have = {u.role for u in draft.unit_lists}
        return any(role not in have for role, _, _ in nxt.labels)
    return False


def _plan_bounds(items: list[_Item]) -> tuple[int, int] | None:
    """Return where the plan begins and ends (None: no unit label at all).

    It begins at the outermost heading above the first unit label and ends at the first paragraph that is never
    a task (TaskProfile.not_task) after the last unit label: a site's own numbered clauses below are not tasks.
    """
    labelled = [i for i, it in enumerate(items) if it.kind == "labels"]
    if not labelled:
        return None
    first, last = labelled[0], labelled[-1]
    end = next((i for i in range(last + 1, len(items)) if items[i].kind == "other"), len(items))
    for kind in ("section", "subsection", "task"):
        above = [i for i in range(first) if items[i].kind == kind]
        # The heading that opens the first labelled task's branch: the last of its kind before the label.
        if above:
            return above[-1], end
    return max(0, first - 1), end


def blocks_to_drafts(blocks: list[Block], profile: TaskProfile) -> tuple[list[Draft], list[Piece]]:
    """Read the outline; return the drafts and the text left unattached inside the plan.

    A task is a numbered item (1.…), or plain text under an outline heading (一、/（一）) followed by unit lines,
    or a heading directly followed by unit lines. Unit lines that follow none of these belong to no task. A plan
    whose tasks carry no unit line at all is no plan: no drafts.
    """
    items = [it for b in blocks for it in _classify(b, profile)]
    bounds = _plan_bounds(items)
    if bounds is None:
        return [], []
    drafts: list[Draft] = []
    stray: list[Piece] = []
    section = subsection = None
    current: Draft | None = None
    start, end = bounds
    for i in range(start, end):
        it, nxt = items[i], (items[i + 1] if i + 1 < len(items) else None)
        prev = items[i - 1] if i > start else None
        if it.kind == "other":
            current = None  # an article, a contact line, site text: it ends the task above
        elif it.kind == "section":
            section, subsection, current = (it.no, it.title), None, None
        elif it.kind == "subsection":
            subsection, current = (it.no, it.title), None
        elif it.kind == "task":
            current = Draft(section, subsection, it.no, [it.piece])
            drafts.append(current)
        elif it.kind == "text":
            if current is not None and not current.unit_lists:
                current.pieces.append(it.piece)
            elif current is not None and _continues_units(current, nxt):
                current.unit_lists[-1].pieces.append(it.piece)
            elif section or subsection:
                current = Draft(section, subsection, None, [it.piece])  # an unnumbered task, if labels follow
                drafts.append(current)
            else:  # text outside any outline: never a task of its own
                stray.append(it.piece)
                current = None
        else:
            if current is None and prev is not None and prev.kind in ("section", "subsection"):
                # The heading itself is the task: （一）完善养老服务体系。 / 牵头单位：…
                current = Draft(section, subsection, None, [prev.piece.part(prev.title) if prev.title else prev.piece])
                drafts.append(current)
            if current is None:
                stray.append(it.piece)  # unit lines that follow no task
                continue
            for kind, label, units in it.labels:
                piece = it.piece.part(units)
                if kind == "deadline":
                    current.deadline = current.deadline or piece
                else:
                    current.unit_lists.append(UnitList(kind, label, [piece]))
    kept = [d for d in drafts if d.unit_lists or d.task_no is not None]
    stray.extend(p for d in drafts if d.task_no is None and not d.unit_lists for p in d.pieces)
    if not any(d.unit_lists for d in kept):
        return [], stray
    return kept, stray


# --- drafts to records -----------------------------------------------------------------------------


@dataclass
class _Context:
    notice_id: str
    raw_file: str
    raw_sha256: str
    source_format: str
    profile: TaskProfile
    register: AgencyRegister
    out: TaskExtraction
    jurisdiction: str | None = ANY_JURISDICTION  # the notice's: units resolve within it and its parents

    def lineage(self, pieces: list[Piece]) -> dict:
        pages = sorted({pg for p in pieces for pg in (p.pages or ((p.page,) if p.page else ()))})
        return {
            "source_format": self.source_format,
            "raw_file": self.raw_file,
            "raw_sha256": self.raw_sha256,
            "locator": "; ".join(dict.fromkeys(p.locator for p in pieces)),
            "page": pieces[0].page if pieces else None,
            "pages": pages or None,
        }

    def finding(self, rule: str, severity: str, table: str, record_id: str, column: str, evidence: str,
                message: str, locator: str, suggestion: str | None = None) -> None:
        """Report a finding: ``message`` explains it; ``suggestion`` is a replacement value for the evidence or None."""
        self.out.findings.append(
            {"rule": rule, "severity": severity, "record_table": table, "record_id": record_id,
             "column_name": column, "evidence": evidence, "suggestion": suggestion, "message": message,
             "locator": locator}
        )


def join_pieces(pieces: list[Piece], ctx: _Context, record_id: str, table: str, column: str) -> str:
    """Join a record's pieces: a paragraph cut mid-sentence is joined as one and reported."""
    text = ""
    for prev, piece in zip([None, *pieces], pieces):
        if piece.joined_page_break:
            ctx.finding("paragraph_split_by_page_break", "warning", table, record_id, column, piece.around_break(),
                        "joined the lines across the page break; check the join in the original", piece.locator)
        if prev is None:
            text = piece.text
        elif text[-1:] in ctx.profile.terminal_punctuation:
            text += "\n" + piece.text  # a paragraph of its own
        else:
            ctx.finding("paragraph_split_by_page_break", "warning", table, record_id, column,
                        f"…{text[-12:]} | {piece.text[:12]}…",
                        "joined the two paragraphs: the first stops mid-sentence (a page break of the original)",
                        f"{prev.locator}; {piece.locator}")
            text = join_wrapped([text, piece.text])
    return text


def _task_path(d: Draft) -> str:
    return ".".join(x for x in (d.section and d.section[0], d.subsection and d.subsection[0], d.task_no) if x)


def _deadline_fields(d: Draft, task_id: str, ctx: _Context) -> dict:
    """Read the task's deadline: the text as published, the last day it allows and the period it names."""
    text = d.deadline.text if d.deadline else ""
    parsed = text_to_deadline(text) if text else None
    if text and parsed is None:
        ctx.finding("deadline_not_parsed", "info", "tasks", task_id, "deadline_text", text,
                    "the deadline is kept as published; it is not one deadline of the forms in [deadline] of "
                    "pipeline/data/task_profiles.toml (add the form there if it is one)", d.deadline.locator)
    return {
        "deadline_text": text or None,
        "deadline_date": parsed.date if parsed else None,
        "deadline_period": parsed.period if parsed else None,
    }


def _task_record(d: Draft, seq: int, task_id: str, ctx: _Context) -> dict:
    cells = [*d.pieces, *(p for p in (d.title, d.deadline) if p is not None)]
    return {
        "task_id": task_id,
        "notice_id": ctx.notice_id,
        "seq": seq,
        "section": d.section[0] if d.section else None,
        "section_no": cn_number(d.section[0]) if d.section else None,
        "section_title": d.section[1] if d.section else None,
        "subsection": d.subsection[0] if d.subsection else None,
        "subsection_no": cn_number(d.subsection[0]) if d.subsection else None,
        "subsection_title": d.subsection[1] if d.subsection else None,
        "task_no": int(d.task_no) if d.task_no and d.task_no.isdigit() else None,
        "part": d.part,
        "task_title": d.title.text if d.title else None,
        "task_text": join_pieces(d.pieces, ctx, task_id, "tasks", "task_text"),
        **_deadline_fields(d, task_id, ctx),
        **ctx.lineage(cells),
        "extra": d.extra,
    }


def mention_to_units(mention: str, ctx: _Context, role: str = "lead") -> list[tuple[str, AgencyMatch | None, str]]:
    """Resolve one 、-separated mention: whole, else as a compound whose every part resolves, else a class.

    An office (role lead_office / co_office) is not looked up: the register lists agencies, not their 处室.
    """
    prof, where = ctx.profile, ctx.jurisdiction
    def resolve(text: str, patterns: bool = True) -> AgencyMatch | None:
        return ctx.register.resolve(text, patterns=patterns, jurisdiction=where)

    if prof.fragment.match(mention):
        return [(mention, None, "fragment")]
    if role in OFFICE_ROLES:
        return [(mention, None, "office")]
    if m := resolve(mention, patterns=False):
        return [(mention, m, m.via)]
    for joiner in prof.compound_joiners:
        parts = [p.strip() for p in mention.split(joiner)]
        if len(parts) > 1 and all(parts) and all(resolve(p) for p in parts):
            return [(p, resolve(p), "compound_part") for p in parts]
    if m := resolve(mention):
        return [(mention, m, m.via)]
    return [(mention, None, "unresolved")]


def _roles_of(ul: UnitList, n_mentions: int, task_has_co: bool) -> list[tuple[str, str]]:
    """Give each mention of a list its (role, role_from): a 责任单位 list with no co list beside it is read in order."""
    if ul.role != "responsible":
        return [(ul.role, ul.role_from)] * n_mentions
    if task_has_co:
        return [("lead", ul.role_from)] * n_mentions
    return [("lead" if i == 0 else "co", "order") for i in range(n_mentions)]


def units_to_offices_of(units: list[dict]) -> list[dict]:
    """Tie each office (处室) to the agency it sits in: a lead_office to the task's lead unit, a co_office to its
    co unit, only when the task names exactly one unit of that role (else office_of stays NULL: no guess)."""
    for office_role, agency_role in (("lead_office", "lead"), ("co_office", "co")):
        agencies = [u for u in units if u["role"] == agency_role]
        for u in units:
            if u["role"] == office_role:
                u["office_of"] = agencies[0]["unit_id"] if len(agencies) == 1 else None
    return units


def _unit_records(task_id: str, ul: UnitList, ctx: _Context, task_has_co: bool) -> list[dict]:
    text = join_pieces(ul.pieces, ctx, f"{task_id}:{ul.role}", "task_units", "unit_as_written")
    lineage = ctx.lineage(ul.pieces)
    lineage.pop("pages")
    if "\n" in text:  # lines that together are one registered name (中共厦门市委 / 老干部局) stay one
        joined = join_wrapped(text.split("\n"))
        if ctx.register.resolve(joined, patterns=False, jurisdiction=ctx.jurisdiction):
            text = joined
    mentions = [m for m in ctx.profile.split_units(text) if not ctx.profile.is_no_unit(m)] if text else []
    rows: list[dict] = []
    for mention_no, (mention, (role, role_from)) in enumerate(
            zip(mentions, _roles_of(ul, len(mentions), task_has_co)), start=1):
        for unit, m, how in mention_to_units(mention, ctx, role):
            position = 1 + sum(u["task_id"] == task_id and u["role"] == role for u in (*ctx.out.units, *rows))
            unit_id = f"{task_id}:{role}:{position}"
            rows.append({
                "unit_id": unit_id, "task_id": task_id, "notice_id": ctx.notice_id, "role": role,
                "role_from": role_from, "label_as_written": ul.label,
                "position": position, "mention_no": mention_no, "mention_as_written": mention,
                "unit_as_written": unit,
                "unit_canonical": m.name if m else None, "agency_id": m.agency_id if m else None,
                "unit_level": m.level if m else None, "is_old_name": m.is_old_name if m else None,
                "current_agency_id": m.current_id if m else None, "current_name": m.current_name if m else None,
                "match": how, "is_fragment": how == "fragment", "office_of": None, **lineage,
            })
            if how == "fragment":
                ctx.finding("truncated_unit_list", "warning", "task_units", unit_id, "unit_as_written",
                            f"{ul.label}：{text}",
                            f"the list ends in a cut-off name ({unit or 'empty'!r}); kept as published — record "
                            "the intended unit in a review", lineage["locator"])
            elif how == "unresolved":
                ctx.finding("unit_not_in_register", "info", "task_units", unit_id, "unit_canonical", unit,
                            "add the unit (or an alias) to its jurisdiction's file under pipeline/data/agencies/",
                            lineage["locator"])
    return rows


def _task_ids(drafts: list[Draft], ctx: _Context) -> list[tuple[str, bool]]:
    """Key every draft: notice_id:outline path[.part][#n]; say whether it repeats another task's number.

    The rows of one 序号 cell are parts of one task (path.1, path.2); two 序号 cells with the same number are two
    tasks, the later one suffixed #2 (and reported by the caller).
    """
    seen: dict[str, int] = {}
    occurrence_of: dict[object, int] = {}
    out = []
    for seq, d in enumerate(drafts, start=1):
        path = _task_path(d) or f"#{seq}"
        if d.group is not None and d.group in occurrence_of:
            n = occurrence_of[d.group]
        else:
            seen[path] = n = seen.get(path, 0) + 1
            if d.group is not None:
                occurrence_of[d.group] = n
        part = f".{d.part}" if d.part else ""
        out.append((f"{ctx.notice_id}:{path}{part}" + (f"#{n}" if n > 1 else ""), n > 1 and d.part in (None, 1)))
    return out


def drafts_to_extraction(drafts: list[Draft], stray: list[Piece], ctx: _Context) -> TaskExtraction:
    """Build task, unit and target records (with findings) from the drafts of one notice."""
    last_no: dict[tuple, int] = {}
    last_any = 0  # numbering may run on across sections (a table's 序号 1 … n under 一、 and 二、)
    for seq, (d, (task_id, repeated)) in enumerate(zip(drafts, _task_ids(drafts, ctx)), start=1):
        task = _task_record(d, seq, task_id, ctx)
        ctx.out.tasks.append(task)
        branch = (d.section, d.subsection)
        no = task["task_no"]
        if repeated and no is not None:
            ctx.finding("duplicate_task_number", "warning", "tasks", task_id, "task_no", _task_path(d),
                        "the outline repeats this number in another place; the later task got a #n suffix",
                        task["locator"])
        elif d.part in (None, 1) and no is not None and no != last_no.get(branch, 0) + 1 and not (
                branch not in last_no and no == last_any + 1):
            ctx.finding("task_number_gap", "info", "tasks", task_id, "task_no", _task_path(d),
                        f"expected {last_no.get(branch, 0) + 1} after {last_no.get(branch, 0)}", task["locator"])
        if no is not None:
            last_no[branch] = last_any = no
        has_co = any(ul.role == "co" and any(ctx.profile.split_units(p.text)) for ul in d.unit_lists
                     for p in ul.pieces if not ctx.profile.is_no_unit(p.text))
        units = units_to_offices_of([u for ul in d.unit_lists for u in _unit_records(task_id, ul, ctx, has_co)])
        ctx.out.units.extend(units)
        if not any(u["role"] == "lead" for u in units):
            ctx.finding("task_without_lead_unit", "warning", "tasks", task_id, "task_text", task["task_text"][:40],
                        "the task names no 牵头单位; check the original", task["locator"])
    for p in stray:
        ctx.finding("unattached_text", "info", "tasks", "", "", p.text[:60],
                    "text inside the plan that belongs to no task; add a pattern to task_profiles.toml if it "
                    "is a task", p.locator)
    ctx.out.targets = tasks_to_targets(ctx.out.tasks)
    return ctx.out


def _outside(blocks: list[Block], data_tables: Iterable[str]) -> list[Block]:
    """Drop the blocks inside the file's data tables: a table's text is the table's (read, or not, as a table)."""
    prefixes = tuple(f"{t}/" for t in data_tables if t.startswith("/"))
    return [b for b in blocks if not (prefixes and b.locator.startswith(prefixes))]


def blocks_to_tasks(blocks: list[Block], *, notice_id: str, raw_file: str, raw_sha256: str,
                    source_format: str, profiles: list[TaskProfile] | None = None,
                    register: AgencyRegister | None = None,
                    jurisdiction: str | None = ANY_JURISDICTION, data_tables: Iterable[str] = ()) -> TaskExtraction:
    """Read the tasks of a task-decomposition notice from its text blocks (HTML or PDF).

    ``data_tables`` are the XPaths of the file's data tables: text inside them is never read as a task list.
    Raise NoStructureFound when the text has no task list (its reason says why).
    """
    read = _outside(blocks, data_tables)
    best: tuple[list[Draft], list[Piece], TaskProfile] | None = None
    labelled = False
    for profile in profiles or load_task_profiles():
        drafts, stray = blocks_to_drafts(read, profile)
        labelled = labelled or any(it.kind == "labels" for b in read for it in _classify(b, profile))
        if drafts and (best is None or len(drafts) > len(best[0])):
            best = (drafts, stray, profile)
    if best is None:
        skipped = f" ({len(blocks) - len(read)} more inside data tables not read)" if len(read) < len(blocks) else ""
        why = ("its unit labels (牵头单位：/协办单位：) follow no numbered item or outline heading"
               if labelled else "no block carries a unit label such as 牵头单位：/协办单位：")
        raise NoStructureFound(f"no task structure recognized in {len(read)} text blocks{skipped}: {why}",
                               file=raw_file, stage="tasks")
    drafts, stray, profile = best
    ctx = _Context(notice_id, raw_file, raw_sha256, source_format, profile,
                   register or load_agency_register(), TaskExtraction(profile=profile.name), jurisdiction)
    return drafts_to_extraction(drafts, stray, ctx)


def grid_to_tasks(grid: Grid, recognized: RecognizedTable, *, notice_id: str, raw_file: str, raw_sha256: str,
                  profiles: list[TaskProfile] | None = None, register: AgencyRegister | None = None,
                  jurisdiction: str | None = ANY_JURISDICTION) -> TaskExtraction:
    """Read the tasks of a task table (a grid recognized with the ``task_list`` table profile)."""
    from pipeline.kinds.task_table import grid_to_drafts, unread_columns

    profile = (profiles or load_task_profiles())[0]
    drafts = grid_to_drafts(grid, recognized, profile)
    if not drafts:
        raise NoStructureFound(f"the task table {grid.locator} has no task rows", file=raw_file, stage="tasks")
    ctx = _Context(notice_id, raw_file, raw_sha256, grid.source_format, profile,
                   register or load_agency_register(), TaskExtraction(profile=f"table:{recognized.profile.kind}"),
                   jurisdiction)
    for name, locator in unread_columns(recognized):
        ctx.finding("task_column_not_read", "info", "tasks", "", name, name,
                    "the task table's column is read into no task field (its cells are kept in table_cells); "
                    "add its header to the task_list profile of pipeline/data/table_profiles.toml if it is one",
                    locator)
    return drafts_to_extraction(drafts, [], ctx)
