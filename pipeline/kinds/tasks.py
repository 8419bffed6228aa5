"""Task-decomposition notices to tidy tasks and units: text blocks or a task table in, records out.

A plan assigns each task to lead units (牵头单位) and co-organizing units (协办单位). Its outline
(一、 / （一） / 1.) and labels come from a profile in pipeline/data/task_profiles.toml; the text of a task is
kept as published, a paragraph that a page break split is joined and reported, units are split on 、 and
resolved through the agency register (pipeline/agencies.py), and a cut-off unit is kept and flagged.
"""

from __future__ import annotations

import re
import tomllib
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
from pipeline.text import clean_text

ROLES = ("lead", "co")
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
    labels: dict[str, str]  # label as written -> role
    label_colon: str
    terminal_punctuation: str
    unit_separators: tuple[str, ...]
    compound_joiners: tuple[str, ...]
    fragment: re.Pattern

    @property
    def label_re(self) -> re.Pattern:
        alts = "|".join(re.escape(x) for x in sorted(self.labels, key=len, reverse=True))
        # A label starts the block or follows punctuation, so 由市民政局牵头： inside a sentence is not one.
        return re.compile(rf"(?:^|(?<=[\s（(；;。，,]))(?P<label>{alts})\s*{self.label_colon}\s*")

    def split_units(self, text: str) -> list[str]:
        """Split a unit list into mentions as published; a trailing separator leaves an empty mention."""
        return [m.strip() for m in re.split("|".join(map(re.escape, self.unit_separators)), text)]


@dataclass
class TaskExtraction:
    """Records of one notice: rows for tables tasks, task_units and targets, plus findings for dq_flags."""

    tasks: list[dict] = field(default_factory=list)
    units: list[dict] = field(default_factory=list)
    targets: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    profile: str = ""


def load_task_profiles(path: Path | None = None) -> list[TaskProfile]:
    """Read task-decomposition profiles from TOML."""
    return list(_load(str(path or data_path("task_profiles.toml"))))


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[TaskProfile, ...]:
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    out = []
    for p in doc.get("profile", []):
        for key, groups in (("section", ("no", "title")), ("subsection", ("no", "title")), ("task", ("no", "text"))):
            if missing := [g for g in groups if g not in re.compile(p[key]).groupindex]:
                raise ValueError(f"task profile {p['name']}: pattern `{key}` lacks named groups {missing} ({path})")
        labels = {label: role for role in ROLES for label in p["labels"].get(role, ())}
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
    role: str
    label: str
    pieces: list[Piece]


@dataclass
class Draft:
    section: tuple[str, str] | None
    subsection: tuple[str, str] | None
    task_no: str | None
    pieces: list[Piece]
    unit_lists: list[UnitList] = field(default_factory=list)


@dataclass
class _Item:
    kind: str  # section, subsection, task, text, labels
    piece: Piece
    no: str | None = None
    title: str = ""
    labels: list[tuple[str, str, str]] = field(default_factory=list)  # (role, label, units text)


def _classify(block: Block, profile: TaskProfile) -> list[_Item]:
    """Turn one block into outline items: a heading, a task line, plain text and/or unit labels."""
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


def _plan_start(items: list[_Item]) -> int | None:
    """Return where the plan begins: the outermost heading above the first unit label (None: no label)."""
    first = next((i for i, it in enumerate(items) if it.kind == "labels"), None)
    if first is None:
        return None
    for kind in ("section", "subsection", "task"):
        above = [i for i in range(first) if items[i].kind == kind]
        # The heading that opens the first labelled task's branch: the last of its kind before the label.
        if above:
            return above[-1]
    return max(0, first - 1)


def blocks_to_drafts(blocks: list[Block], profile: TaskProfile) -> tuple[list[Draft], list[Piece]]:
    """Read the outline; return the drafts and the plain text left unattached inside the plan."""
    items = [it for b in blocks for it in _classify(b, profile)]
    start = _plan_start(items)
    if start is None:
        return [], []
    drafts: list[Draft] = []
    stray: list[Piece] = []
    section = subsection = None
    current: Draft | None = None
    for i in range(start, len(items)):
        it, nxt = items[i], (items[i + 1] if i + 1 < len(items) else None)
        if it.kind == "section":
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
            else:
                current = Draft(section, subsection, None, [it.piece])  # an unnumbered task, if labels follow
                drafts.append(current)
        else:
            if current is None:
                current = Draft(section, subsection, None, [])
                drafts.append(current)
            for role, label, units in it.labels:
                current.unit_lists.append(UnitList(role, label, [it.piece.part(units)]))
    kept = [d for d in drafts if d.unit_lists or d.task_no is not None]
    stray.extend(p for d in drafts if d.task_no is None and not d.unit_lists for p in d.pieces)
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
                suggestion: str, locator: str) -> None:
        self.out.findings.append(
            {"rule": rule, "severity": severity, "record_table": table, "record_id": record_id,
             "column_name": column, "evidence": evidence, "suggestion": suggestion, "locator": locator}
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


def _task_record(d: Draft, seq: int, task_id: str, ctx: _Context) -> dict:
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
        "task_text": join_pieces(d.pieces, ctx, task_id, "tasks", "task_text"),
        **ctx.lineage(d.pieces),
    }


def mention_to_units(mention: str, ctx: _Context) -> list[tuple[str, AgencyMatch | None, str]]:
    """Resolve one 、-separated mention: whole, else as a compound whose every part resolves, else a class."""
    prof, where = ctx.profile, ctx.jurisdiction
    def resolve(text: str, patterns: bool = True) -> AgencyMatch | None:
        return ctx.register.resolve(text, patterns=patterns, jurisdiction=where)

    if prof.fragment.match(mention):
        return [(mention, None, "fragment")]
    if m := resolve(mention, patterns=False):
        return [(mention, m, m.via)]
    for joiner in prof.compound_joiners:
        parts = [p.strip() for p in mention.split(joiner)]
        if len(parts) > 1 and all(parts) and all(resolve(p) for p in parts):
            return [(p, resolve(p), "compound_part") for p in parts]
    if m := resolve(mention):
        return [(mention, m, m.via)]
    return [(mention, None, "unresolved")]


def _unit_records(task_id: str, ul: UnitList, ctx: _Context) -> list[dict]:
    text = join_pieces(ul.pieces, ctx, f"{task_id}:{ul.role}", "task_units", "unit_as_written")
    lineage = ctx.lineage(ul.pieces)
    lineage.pop("pages")
    mentions = ctx.profile.split_units(text)
    rows: list[dict] = []
    position = len([u for u in ctx.out.units if u["task_id"] == task_id and u["role"] == ul.role])
    for mention_no, mention in enumerate(mentions, start=1):
        for unit, m, how in mention_to_units(mention, ctx):
            position += 1
            unit_id = f"{task_id}:{ul.role}:{position}"
            rows.append({
                "unit_id": unit_id, "task_id": task_id, "notice_id": ctx.notice_id, "role": ul.role,
                "position": position, "mention_no": mention_no, "mention_as_written": mention,
                "unit_as_written": unit,
                "unit_canonical": m.name if m else None, "agency_id": m.agency_id if m else None,
                "unit_level": m.level if m else None, "is_old_name": m.is_old_name if m else None,
                "current_agency_id": m.current_id if m else None, "current_name": m.current_name if m else None,
                "match": how, "is_fragment": how == "fragment", **lineage,
            })
            if how == "fragment":
                ctx.finding("truncated_unit_list", "warning", "task_units", unit_id, "unit_as_written",
                            f"{ul.label}：{text}",
                            f"the list ends in a cut-off name ({unit or 'empty'!r}); kept as published — record "
                            "the intended unit in a review", lineage["locator"])
            elif how == "unresolved":
                ctx.finding("unit_not_in_register", "info", "task_units", unit_id, "unit_canonical", unit,
                            "add the unit (or an alias) to its jurisdiction's file under pipeline/data/agencies/", lineage["locator"])
    return rows


def drafts_to_extraction(drafts: list[Draft], stray: list[Piece], ctx: _Context) -> TaskExtraction:
    """Build task, unit and target records (with findings) from the drafts of one notice."""
    seen: dict[str, int] = {}
    last_no: dict[tuple, int] = {}
    for seq, d in enumerate(drafts, start=1):
        path = _task_path(d) or f"#{seq}"
        seen[path] = seen.get(path, 0) + 1
        task_id = f"{ctx.notice_id}:{path}" + (f"#{seen[path]}" if seen[path] > 1 else "")
        task = _task_record(d, seq, task_id, ctx)
        ctx.out.tasks.append(task)
        branch = (d.section, d.subsection)
        if seen[path] > 1:
            ctx.finding("duplicate_task_number", "warning", "tasks", task_id, "task_no", path,
                        "the outline repeats this number; the later task got a #n suffix", task["locator"])
        elif task["task_no"] is not None and task["task_no"] != last_no.get(branch, 0) + 1:
            ctx.finding("task_number_gap", "info", "tasks", task_id, "task_no", path,
                        f"expected {last_no.get(branch, 0) + 1} after {last_no.get(branch, 0)}", task["locator"])
        if task["task_no"] is not None:
            last_no[branch] = task["task_no"]
        for ul in d.unit_lists:
            ctx.out.units.extend(_unit_records(task_id, ul, ctx))
        if not any(ul.role == "lead" for ul in d.unit_lists):
            ctx.finding("task_without_lead_unit", "warning", "tasks", task_id, "task_text", task["task_text"][:40],
                        "the task names no 牵头单位; check the original", task["locator"])
    for p in stray:
        ctx.finding("unattached_text", "info", "tasks", "", "", p.text[:60],
                    "text inside the plan that belongs to no task; add a pattern to task_profiles.toml if it "
                    "is a task", p.locator)
    ctx.out.targets = tasks_to_targets(ctx.out.tasks)
    return ctx.out


def blocks_to_tasks(blocks: list[Block], *, notice_id: str, raw_file: str, raw_sha256: str,
                    source_format: str, profiles: list[TaskProfile] | None = None,
                    register: AgencyRegister | None = None,
                    jurisdiction: str | None = ANY_JURISDICTION) -> TaskExtraction:
    """Read the tasks of a task-decomposition notice from its text blocks (HTML or PDF)."""
    best: tuple[list[Draft], list[Piece], TaskProfile] | None = None
    for profile in profiles or load_task_profiles():
        drafts, stray = blocks_to_drafts(blocks, profile)
        if drafts and (best is None or len(drafts) > len(best[0])):
            best = (drafts, stray, profile)
    if best is None:
        raise NoStructureFound(
            f"no task structure recognized in {len(blocks)} text blocks: no block carries a unit label "
            f"such as 牵头单位：/协办单位：", file=raw_file, stage="tasks")
    drafts, stray, profile = best
    ctx = _Context(notice_id, raw_file, raw_sha256, source_format, profile,
                   register or load_agency_register(), TaskExtraction(profile=profile.name), jurisdiction)
    return drafts_to_extraction(drafts, stray, ctx)


# --- the table layout: 序号 | 工作任务 | 牵头单位 | 协办单位, with section rows --------------------------


def _value(grid: Grid, r: int, c: int) -> str:
    """Read a cell as a typed value: its published lines joined CJK-aware."""
    return clean_text(grid.value(r, c))


def _cell_piece(grid: Grid, r: int, c: int) -> Piece:
    cell = grid.origin_cell(r, c)
    locator = cell.locator or f"{grid.locator}/row[{r + 1}]/col[{c + 1}]"
    return Piece(_value(grid, r, c), locator, cell.page, (cell.page,) if cell.page else ())


def _heading(text: str, profile: TaskProfile) -> tuple[str, str, str] | None:
    for kind in ("section", "subsection"):
        if m := getattr(profile, kind).match(text):
            return kind, m.group("no"), m.group("title").strip()
    return None


def grid_to_drafts(grid: Grid, recognized: RecognizedTable, profile: TaskProfile) -> list[Draft]:
    """Read tasks from a recognized task table; section rows (一、… / （一）…) set the outline."""
    cols = recognized.columns
    section = subsection = None
    drafts: list[Draft] = []
    headings = set(recognized.section_rows)
    for r in sorted(set(recognized.data_rows) | headings):
        value = {f: _value(grid, r, c) for f, c in cols.items()}
        no, text = value.get("task_no", ""), value.get("task_text", "")
        has_units = bool(value.get("lead_units") or value.get("co_units"))
        row_text = _value(grid, r, 0) if r in headings else (text if not no else f"{no}{text}")
        if r in headings or not has_units:
            # A section may sit in its own merged row or as 序号 一 / 工作任务 title with no units.
            split_head = _heading(f"{no}、{text}", profile) if no and not no.isdigit() else None
            if head := _heading(row_text, profile) or split_head:
                kind, hno, title = head
                if kind == "section":
                    section, subsection = (hno, title), None
                else:
                    subsection = (hno, title)
                continue
        if r in headings or not (text or has_units):
            continue
        task_no = no if no.isdigit() else None
        if task_no is None and (m := profile.task.match(text)):
            task_no, text = m.group("no"), m.group("text").strip()
        piece = _cell_piece(grid, r, cols["task_text"])
        d = Draft(section, subsection, task_no, [Piece(text, piece.locator, piece.page, piece.pages)])
        for role, field_name in (("lead", "lead_units"), ("co", "co_units")):
            if value.get(field_name):
                header = recognized.header_rows[0] if recognized.header_rows else None
                label = _value(grid, header, cols[field_name]) if header is not None else field_name
                d.unit_lists.append(UnitList(role, label, [_cell_piece(grid, r, cols[field_name])]))
        drafts.append(d)
    return drafts


def grid_to_tasks(grid: Grid, recognized: RecognizedTable, *, notice_id: str, raw_file: str, raw_sha256: str,
                  profiles: list[TaskProfile] | None = None, register: AgencyRegister | None = None,
                  jurisdiction: str | None = ANY_JURISDICTION) -> TaskExtraction:
    """Read the tasks of a task table (a grid recognized with the ``task_list`` table profile)."""
    profile = (profiles or load_task_profiles())[0]
    drafts = grid_to_drafts(grid, recognized, profile)
    if not drafts:
        raise NoStructureFound(f"the task table {grid.locator} has no task rows", file=raw_file, stage="tasks")
    ctx = _Context(notice_id, raw_file, raw_sha256, grid.source_format, profile,
                   register or load_agency_register(), TaskExtraction(profile=f"table:{recognized.profile.kind}"),
                   jurisdiction)
    return drafts_to_extraction(drafts, [], ctx)
