"""Rules on the wording of one cell: punctuation that breaks a 、 list, a conjunction left dangling before a verb."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pipeline.flags.base import Frames, lineage_index, provision_finding, settings

_ITEM_STOP = "、,,;;。::()()《》"


def pattern_matches(frames: Frames, columns: list[str], pattern: re.Pattern) -> Iterator[tuple[dict, str, re.Match]]:
    """Yield (provision, column, match) for every match of the pattern in the given text columns."""
    for p in frames.get("service_provisions", []):
        for column in columns:
            for m in pattern.finditer(p.get(column) or ""):
                yield p, column, m


def _enumeration_pattern(breakers: list[str], max_chars: int) -> re.Pattern:
    item = f"[^{re.escape(_ITEM_STOP)}等]{{1,{max_chars}}}"
    brk = "|".join(map(re.escape, breakers))
    # 、<item><breaker><item> followed by 、 or 等: both neighbours are items of one list.
    return re.compile(f"(?<=、)(?P<before>{item})(?P<breaker>{brk})(?P<after>{item})(?=[、等])")


def enumeration_broken(frames: Frames) -> list[dict]:
    """Flag punctuation such as 。 between two short items of a 、 list (体温、血压、呼吸。心率、血糖)."""
    cfg = settings(frames, "enumeration_broken")
    pattern = _enumeration_pattern(cfg["breakers"], cfg["max_item_chars"])
    lineage = lineage_index(frames)
    out = []
    for p, column, m in pattern_matches(frames, cfg["columns"], pattern):
        suggestion = f"{m.group('before')}、{m.group('after')}"
        message = f"{m.group('breaker')} between list items {m.group('before')!r} and {m.group('after')!r} of a 、 list"
        out.append(provision_finding("enumeration_broken", cfg["severity"], p, column, m.start(), m.end(),
                                     m.group(), suggestion, message, lineage))
    return out


def _dangling_pattern(cfg: dict) -> re.Pattern:
    alt = lambda words: "|".join(map(re.escape, sorted(words, key=len, reverse=True)))  # noqa: E731
    return re.compile(f"(?P<after>{alt(cfg['after'])})(?P<conj>{alt(cfg['conjunctions'])})(?P<verb>{alt(cfg['verbs'])})"
                      f"(?=$|[。,,;;])")


def dangling_conjunction(frames: Frames) -> list[dict]:
    """Flag a conjunction with nothing after it before the closing verb (…的通知》和执行)."""
    cfg = settings(frames, "dangling_conjunction")
    pattern = _dangling_pattern(cfg)
    lineage = lineage_index(frames)
    out = []
    for p, column, m in pattern_matches(frames, cfg["columns"], pattern):
        message = f"{m.group('conj')!r} joins nothing: the verb {m.group('verb')!r} follows it directly"
        out.append(provision_finding("dangling_conjunction", cfg["severity"], p, column, m.start(), m.end(),
                                     m.group(), m.group("after") + m.group("verb"), message, lineage))
    return out
