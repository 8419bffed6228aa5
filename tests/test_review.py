"""The review loop: QA decisions applied into canonical columns, history kept, stale decisions reported."""

from __future__ import annotations

import copy
import csv
import datetime as dt

import pytest

from pipeline.derive.citations import provisions_to_citations
from pipeline.config import REVIEWS_DIR
from pipeline.derive.entities import provisions_to_suppliers
from pipeline.flags import build_dq_flags, collect_findings
from pipeline.warehouse.partitions import rows_to_arrow
from pipeline.flags.review import (
    DECISION_COLUMNS,
    ReviewFileError,
    apply_reviews,
    apply_to_citations,
    canonical_values,
    load_decisions,
    merge_review_history,
    read_decisions,
)
from pipeline.warehouse.schema import TABLES

N = "厦民〔2025〕95号"


def refresh(provisions: list[dict]) -> tuple[list[dict], list[dict]]:
    citations = provisions_to_citations(provisions)
    frames = {"service_provisions": provisions, "citations": citations,
              "provision_suppliers": provisions_to_suppliers(provisions)}
    return citations, build_dq_flags(collect_findings(frames))


@pytest.fixture(scope="module")
def state(provisions_2025):
    return refresh(provisions_2025)


def flag(flags: list[dict], rule: str, record_id: str) -> dict:
    return next(f for f in flags if f["rule"] == rule and f["record_id"] == record_id)


def decision(f: dict, kind: str, value: str = "", on: str = "2025-08-01", who: str = "qa1") -> dict:
    return {"flag_id": f["flag_id"], "decision": kind, "corrected_value": value, "reviewer": who,
            "decided_on": on, "note": "", "evidence": f["evidence"]}


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=DECISION_COLUMNS)
        w.writeheader()
        w.writerows(rows)


def test_decisions_fill_canonical_columns_never_published_text(state, provisions_2025):
    citations, flags = state
    title = flag(flags, "citation_title_near_match", f"{N}:1:3:3")
    year = flag(flags, "standard_year_differs", f"{N}:6:2:2")
    period = flag(flags, "enumeration_broken", f"{N}:5:1")
    wording = flag(flags, "supplier_wording_differs", f"{N}:1:1")
    published = copy.deepcopy(provisions_2025)
    reviewed, history, stale = apply_reviews(flags, [
        decision(title, "accept"), decision(year, "correct", "DB3502/T091-2022"), decision(period, "accept"),
        decision(wording, "reject")])
    assert stale == [] and [h["status"] for h in history] == ["applied"] * 4
    status = {f["flag_id"]: (f["review_status"], f["canonical_value"]) for f in reviewed}
    assert status[title["flag_id"]] == ("accepted", "厦门市社区老年人巡访关爱服务规范")
    assert status[year["flag_id"]] == ("corrected", "DB3502/T091-2022")
    assert status[wording["flag_id"]] == ("rejected", None)
    assert sum(s == "open" for s, _ in status.values()) == len(flags) - 4

    fixed = {c["citation_id"]: c for c in apply_to_citations(citations, reviewed)}
    assert fixed[f"{N}:1:3:3"]["title"] == "厦门市社区老年人巡访关爱服务规范"
    assert fixed[f"{N}:1:3:3"]["title_as_written"] == "厦门市社区老年人巡民政、教访关爱服务规范"
    assert fixed[f"{N}:6:2:2"]["canonical_year"] == 2022 and fixed[f"{N}:6:2:2"]["code_year"] == 2023

    rows = {(r["record_id"], r["column_name"]): r for r in canonical_values(provisions_2025, reviewed, citations)}
    assert set(rows) == {(f"{N}:1:3", "standard_text"), (f"{N}:6:2", "standard_text"), (f"{N}:5:1", "content")}
    std = rows[(f"{N}:1:3", "standard_text")]
    assert "《厦门市社区老年人巡访关爱服务规范》" in std["canonical_value"]
    assert std["published_value"] == provisions_2025[2]["standard_text"]
    assert "(DB3502/T091-2022)《厦门市困难群众" in rows[(f"{N}:6:2", "standard_text")]["canonical_value"]
    assert rows[(f"{N}:5:1", "content")]["canonical_value"].startswith("提供体温、体重、血压、呼吸、心率、血糖")
    assert set(std) == set(TABLES["canonical_values"].column_names)
    assert rows_to_arrow(TABLES["canonical_values"], list(rows.values())).num_rows == 3
    assert provisions_2025 == published  # published columns untouched


def test_later_decision_supersedes_and_history_keeps_both(state):
    _, flags = state
    f = flag(flags, "content_differs_between_populations", f"{N}:3:2")
    reviewed, history, _ = apply_reviews(flags, [decision(f, "accept", on="2025-09-01", who="qa2"),
                                                 decision(f, "reject", on="2025-08-01")])
    assert [(h["decision"], h["status"]) for h in history] == [("reject", "superseded"), ("accept", "applied")]
    g = next(x for x in reviewed if x["flag_id"] == f["flag_id"])
    assert (g["review_status"], g["canonical_value"], g["reviewer"], g["decided_on"]) == (
        "accepted", "提供治疗陪伴等服务", "qa2", dt.date(2025, 9, 1))
    # rows load into the warehouse tables as they are
    assert rows_to_arrow(TABLES["reviews"], history).num_rows == 2
    assert rows_to_arrow(TABLES["dq_flags"], reviewed).num_rows == len(flags)


def test_decision_on_evidence_that_no_longer_exists_is_stale(state, provisions_2025):
    _, flags = state
    title = flag(flags, "citation_title_near_match", f"{N}:1:3:3")
    dangling = flag(flags, "dangling_conjunction", f"{N}:5:3")
    decisions = [decision(title, "accept"), decision(dangling, "correct", "》执行")]
    # The raw file changes: a new version fixes the garbled title; the dangling 和 is still there.
    changed = copy.deepcopy(provisions_2025)
    for p in changed:
        p["standard_text"] = p["standard_text"].replace("巡民政、教访", "巡访")
        p["raw_sha256"] = "new-bytes"
    _, new_flags = refresh(changed)
    reviewed, history, stale = apply_reviews(new_flags, decisions)
    assert [(s["flag_id"], s["status"]) for s in stale] == [(title["flag_id"], "stale")]
    assert "no longer exists" in stale[0]["status_reason"]
    assert [h["status"] for h in history] == ["stale", "applied"]
    assert not any(f["flag_id"] == title["flag_id"] for f in reviewed)
    assert next(f for f in reviewed if f["flag_id"] == dangling["flag_id"])["canonical_value"] == "》执行"


def test_decision_with_other_evidence_is_stale_not_applied(state):
    _, flags = state
    f = flag(flags, "dangling_conjunction", f"{N}:5:3")
    d = {**decision(f, "accept"), "evidence": "》及执行"}
    reviewed, _, stale = apply_reviews(flags, [d])
    assert len(stale) == 1 and "evidence is now" in stale[0]["status_reason"]
    assert next(x for x in reviewed if x["flag_id"] == f["flag_id"])["review_status"] == "open"


def test_review_files_read_and_checked(tmp_path, state):
    _, flags = state
    f = flag(flags, "dangling_conjunction", f"{N}:5:3")
    write_csv(tmp_path / "decisions.csv", [decision(f, "correct", "》执行")])
    [d] = load_decisions(tmp_path)
    assert (d["flag_id"], d["decision"], d["review_file"], d["line_no"]) == (f["flag_id"], "correct", "decisions.csv", 2)
    bad = [("decision", "approve", "not one of"), ("corrected_value", "", "needs corrected_value"),
           ("decided_on", "1/8/2025", "not a date")]
    for column, value, message in bad:
        write_csv(tmp_path / "bad.csv", [{**decision(f, "correct", "》执行"), column: value}])
        with pytest.raises(ReviewFileError, match=message) as err:
            read_decisions(tmp_path / "bad.csv")
        assert "bad.csv line 2" in str(err.value) and "review" in str(err.value)


def test_committed_review_file_has_the_documented_columns():
    with open(REVIEWS_DIR / "decisions.csv", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == list(DECISION_COLUMNS)
    assert all(d["decision"] in ("accept", "reject", "correct") for d in load_decisions())


def test_history_survives_a_decision_removed_from_the_files(state):
    _, flags = state
    f = flag(flags, "dangling_conjunction", f"{N}:5:3")
    _, before, _ = apply_reviews(flags, [decision(f, "accept")])
    _, now, _ = apply_reviews(flags, [])
    merged = merge_review_history(before, now)
    assert [(h["flag_id"], h["status"]) for h in merged] == [(f["flag_id"], "removed_from_file")]
