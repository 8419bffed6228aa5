"""The vocabulary of the generic table layer, read from pipeline/data/table_vocab.toml and validated."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.config import DATA, data_path
from pipeline.errors import PipelineError
from pipeline.text import squash  # NFKC, whitespace removed: labels are compared so

VOCAB_FILE = DATA / "table_vocab.toml"


class BadTableVocab(PipelineError):
    """The table vocabulary file is missing a key or holds a value out of range."""

    hint = "fix pipeline/data/table_vocab.toml (see the comments in it for what each key means)"


@dataclass(frozen=True)
class TableVocab:
    """Words and limits by which grids are read as tables (see table_vocab.toml for each one's meaning)."""

    header_max_chars: int
    header_max_rows: int
    sentence_end: str
    joiner: str
    conjunctions: tuple[str, ...]
    unnamed: str
    label_pattern: re.Pattern
    note_words: tuple[str, ...]
    total_words: frozenset[str]
    section_levels: tuple[re.Pattern, ...]
    section_joiner: str
    chrome_words: tuple[str, ...]
    chrome_max_cells: int
    chrome_min_share: float
    max_link_ratio: float
    metadata_labels: frozenset[str]
    metadata_min_labels: int
    metadata_min_share: float
    kv_columns: tuple[str, str]
    kv_label_max_chars: int
    kv_max_rows: int
    kv_label_hints: tuple[str, ...]
    kv_min_hint_share: float
    kv_header_words: frozenset[str]

    def __post_init__(self) -> None:
        for name in ("header_max_chars", "header_max_rows", "chrome_max_cells", "metadata_min_labels",
                     "kv_label_max_chars", "kv_max_rows"):
            if getattr(self, name) < 1:
                raise BadTableVocab(f"table vocab: {name} must be >= 1, got {getattr(self, name)!r}", stage="tables")
        for name in ("chrome_min_share", "max_link_ratio", "metadata_min_share", "kv_min_hint_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise BadTableVocab(f"table vocab: {name} must be within [0, 1], got {getattr(self, name)!r}",
                                    stage="tables")
        for name in ("note_words", "total_words", "conjunctions", "kv_label_hints"):
            if not getattr(self, name) or not all(isinstance(w, str) and w for w in getattr(self, name)):
                raise BadTableVocab(f"table vocab: {name} must be a non-empty list of words", stage="tables")
        if "{n}" not in self.unnamed:
            raise BadTableVocab("table vocab: header.unnamed must contain {n}", stage="tables")
        if len(self.kv_columns) != 2 or not all(self.kv_columns) or self.kv_columns[0] == self.kv_columns[1]:
            raise BadTableVocab("table vocab: key_value.columns must be two different names", stage="tables")
        if not self.joiner or not self.section_joiner:
            raise BadTableVocab("table vocab: joiners must not be empty", stage="tables")

    def is_label(self, text: str) -> bool:
        """Tell whether a title row's text is an attachment label (附件, 附件1：, 附 件 2)."""
        return self.label_pattern.match(squash(text)) is not None

    def is_note(self, text: str) -> bool:
        """Tell whether a text opens as a note: 注：…, 备注:…, 注1：…, 单位：万元."""
        return self._note_re.match(squash(text)) is not None

    def is_total(self, text: str) -> bool:
        """Tell whether a text is a total word (合计, 总 计, 收入总计：)."""
        return squash(text).rstrip(":：") in self.total_words

    def section_level(self, text: str) -> int:
        """Return the outline level of a section row's text (0 = outermost; unnumbered rows are level 0)."""
        t = squash(text)
        return next((i for i, p in enumerate(self.section_levels) if p.match(t)), 0)

    def is_chrome(self, text: str) -> bool:
        """Tell whether a cell reads as page chrome (当前位置：, 首页, 分享到, 版权所有 …)."""
        t = squash(text).strip(":：>»|丨·-")
        return any(t.startswith(w) for w in self.chrome_words)

    def is_metadata_label(self, text: str) -> bool:
        """Tell whether a cell is a page-metadata label (索引号：, 【发布日期】)."""
        return squash(text).strip("【】[]［］:：") in self.metadata_labels

    def has_label_hint(self, text: str) -> bool:
        t = squash(text)
        return any(h in t for h in self.kv_label_hints)

    @property
    def _note_re(self) -> re.Pattern:
        return _note_pattern(self.note_words)


@lru_cache(maxsize=8)
def _note_pattern(words: tuple[str, ...]) -> re.Pattern:
    alts = "|".join(re.escape(squash(w)) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"^(?:{alts})[0-9一二三四五六七八九十]*[:：]")


def _compile(pattern: str, name: str, path: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except (re.error, TypeError) as exc:
        raise BadTableVocab(f"table vocab: {name} pattern {pattern!r}: {exc}", file=path, stage="tables") from exc


def load_table_vocab(path: Path | None = None) -> TableVocab:
    """Read and validate the table vocabulary (cached per path; a POLICY_DATA_DIR overlay's file replaces ours)."""
    return _load(str(path or data_path(VOCAB_FILE.name)))


@lru_cache(maxsize=8)
def _load(path: str) -> TableVocab:
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BadTableVocab(f"cannot read {path}: {exc}", file=path, stage="tables") from exc
    try:
        h, r, lay, meta, kv = doc["header"], doc["rows"], doc["layout"], doc["metadata"], doc["key_value"]
        levels = [_compile(pattern, "rows.section_levels", path) for pattern in r["section_levels"]]
        return TableVocab(
            header_max_chars=int(h["max_chars"]),
            header_max_rows=int(h["max_rows"]),
            sentence_end=str(h["sentence_end"]),
            joiner=str(h["joiner"]),
            conjunctions=tuple(h["conjunctions"]),
            unnamed=str(h["unnamed"]),
            label_pattern=_compile(h["label_pattern"], "header.label_pattern", path),
            note_words=tuple(r["note_words"]),
            total_words=frozenset(squash(w) for w in r["total_words"]),
            section_levels=tuple(levels),
            section_joiner=str(r["section_joiner"]),
            chrome_words=tuple(squash(w) for w in lay["chrome_words"]),
            chrome_max_cells=int(lay["chrome_max_cells"]),
            chrome_min_share=float(lay["chrome_min_share"]),
            max_link_ratio=float(lay["max_link_ratio"]),
            metadata_labels=frozenset(squash(w) for w in meta["labels"]),
            metadata_min_labels=int(meta["min_labels"]),
            metadata_min_share=float(meta["min_share"]),
            kv_columns=tuple(kv["columns"]),
            kv_label_max_chars=int(kv["label_max_chars"]),
            kv_max_rows=int(kv["max_rows"]),
            kv_label_hints=tuple(squash(w) for w in kv["label_hints"]),
            kv_min_hint_share=float(kv["min_hint_share"]),
            kv_header_words=frozenset(squash(w) for w in kv["header_words"]),
        )
    except KeyError as exc:
        raise BadTableVocab(f"table vocab: missing key {exc}", file=path, stage="tables") from exc
    except (TypeError, ValueError) as exc:
        raise BadTableVocab(f"table vocab: bad value ({exc})", file=path, stage="tables") from exc
