"""The rules that compare a citation with every notice's, as SQL: one scan of the published citations, inside DuckDB.

``standard_year_differs``: a standard code cited with a year that is not its canonical one (the register's current
edition, else the year most often cited across all notices). ``citation_code_conflict``: a title cited with a code
other than the one it is registered (or most often cited) with. Both read the tables ``citations``,
``service_provisions``, ``cell_lineage``, ``standards`` and ``documents`` of the connection they run on: the
warehouse being built, or an in-memory copy of a rule test's frames (``run_on_frames``). Each returns dq_flags rows
with the ids build_dq_flags would give them (hash of notice, rule, record, column and evidence).
"""

from __future__ import annotations

import duckdb

FLAG_ID = ("substr(sha256(concat_ws(chr(31), coalesce(notice_id, ''), rule, record_table, record_id, column_name, "
           "coalesce(evidence, ''))), 1, 16)")

# Where a citation's code sits: the provision's row and cell in its raw file, then the span (flags/base.cell_locator).
_CODED = """
    SELECT c.*, c.rowid AS _seq, p.raw_file AS p_raw_file, p.table_index, p.source_row,
           p.raw_file || ' table ' || p.table_index || ' row ' || p.source_row
             || CASE WHEN coalesce(l.locator, '') <> '' THEN ' ' || l.locator
                     || CASE WHEN coalesce(l.page, 0) <> 0 THEN ' page ' || l.page ELSE '' END ELSE '' END
             || ' standard_text[' || c.code_start || ':' || c.code_end || ']' AS cell_locator
    FROM citations c JOIN service_provisions p ON p.provision_id = c.provision_id
    LEFT JOIN (SELECT record_id, any_value(locator) AS locator, any_value(page) AS page FROM cell_lineage
               WHERE record_table = 'service_provisions' AND column_name = 'standard_text' GROUP BY record_id) l
           ON l.record_id = c.provision_id
    WHERE c.code IS NOT NULL"""


def _majority(counts: str, key: str, value: str) -> str:
    """The value most often counted per key; NULL when two tie for most often."""
    return f"""SELECT {key}, CASE WHEN count(*) FILTER (WHERE n = top) = 1 THEN arg_max({value}, n) END AS majority
               FROM (SELECT *, max(n) OVER (PARTITION BY {key}) AS top FROM {counts}) GROUP BY {key}"""


def standard_year_differs_sql(severity: str, known_edition_severity: str) -> str:
    return f"""
    WITH dated AS ({_CODED} AND c.code_year IS NOT NULL),
    all_years AS (SELECT code, code_year, count(*) AS n FROM dated GROUP BY code, code_year),
    all_text AS (SELECT code, string_agg(code_year || '×' || n, ', ' ORDER BY code_year) AS txt FROM all_years GROUP BY code),
    majority AS ({_majority("all_years", "code", "code_year")}),
    notice_years AS (SELECT notice_id, code, code_year, count(*) AS n FROM dated GROUP BY notice_id, code, code_year),
    notice_text AS (SELECT notice_id, code, count(*) AS years,
                           string_agg(code_year || '×' || n, ', ' ORDER BY code_year) AS txt
                    FROM notice_years GROUP BY notice_id, code),
    judged AS (
        SELECT d.*, s.current_year, s.years AS known_years, coalesce(s.current_year, m.majority) AS canonical,
               a.txt AS all_txt, t.txt AS notice_txt, t.years AS notice_year_count
        FROM dated d LEFT JOIN standards s ON s.code = d.code LEFT JOIN majority m ON m.code = d.code
        JOIN all_text a ON a.code = d.code JOIN notice_text t ON t.notice_id = d.notice_id AND t.code = d.code)
    SELECT notice_id, 'standard_year_differs' AS rule,
           CASE WHEN current_year IS NOT NULL AND list_contains(known_years, code_year) THEN '{known_edition_severity}'
                ELSE '{severity}' END AS severity,
           'citations' AS record_table, citation_id AS record_id, 'code_as_written' AS column_name,
           code_as_written AS evidence, code_start AS span_start, code_end AS span_end,
           CASE WHEN canonical IS NULL THEN NULL
                WHEN regexp_matches(code_as_written, '^.+-\\s*[0-9]+\\s*$')
                THEN regexp_replace(code_as_written, '-[^-]*$', '-' || canonical)
                ELSE code_as_written || '-' || canonical END AS suggestion,
           CASE WHEN canonical IS NULL
                THEN code || ' cited with ' || code_year || '; this notice cites ' || code || ' with ' || notice_txt
                     || '; no year is cited most often: record the edition in standards.toml'
                ELSE code || ' cited with ' || code_year || ', canonical ' || canonical || ' ('
                     || CASE WHEN current_year IS NOT NULL THEN 'the register''s current edition'
                             ELSE 'the year most often cited across all notices: ' || all_txt END
                     || '); this notice cites ' || code || ' with ' || notice_txt END AS message,
           cell_locator AS locator, raw_file, raw_sha256, _seq
    FROM judged
    WHERE NOT (canonical IS NULL AND notice_year_count < 2) AND (canonical IS NULL OR code_year <> canonical)"""


def citation_code_conflict_sql(severity: str) -> str:
    return f"""
    WITH coded AS (SELECT *, coalesce(title, title_as_written) AS t FROM ({_CODED}) WHERE title_as_written IS NOT NULL),
    by_title AS (SELECT t, code, count(*) AS n FROM coded GROUP BY t, code),
    title_codes AS (SELECT t, count(*) AS n_codes, string_agg(code, ', ' ORDER BY code) AS codes FROM by_title GROUP BY t),
    majority AS ({_majority("by_title", "t", "code")}),
    titles AS (SELECT title FROM standards UNION SELECT title FROM documents),
    judged AS (
        SELECT c.*, r.code AS registered, coalesce(r.code, m.majority) AS expected, k.n_codes, k.codes,
               o.title AS owner_title, c.t IN (SELECT title FROM titles) AS known_title
        FROM coded c LEFT JOIN standards r ON r.title = c.t LEFT JOIN majority m ON m.t = c.t
        JOIN title_codes k ON k.t = c.t LEFT JOIN standards o ON o.code = c.code),
    verdict AS (
        SELECT *,
               CASE WHEN expected IS NULL AND n_codes > 1
                        THEN '《' || t || '》 is cited with codes ' || codes || '; none most often'
                    WHEN expected IS NOT NULL AND code <> expected
                        THEN '《' || t || '》 is ' || CASE WHEN registered IS NOT NULL THEN 'registered'
                                                        ELSE 'most often cited' END
                             || ' as ' || expected || ', cited here as ' || code
                    WHEN owner_title IS NOT NULL AND owner_title <> t AND known_title
                        THEN code || ' is registered as 《' || owner_title || '》, cited here for 《' || t || '》'
               END AS message,
               CASE WHEN expected IS NULL AND n_codes > 1 THEN expected
                    WHEN expected IS NOT NULL AND code <> expected THEN expected
                    ELSE registered END AS suggestion_value
        FROM judged)
    SELECT notice_id, 'citation_code_conflict' AS rule, '{severity}' AS severity, 'citations' AS record_table,
           citation_id AS record_id, 'code_as_written' AS column_name, code_as_written AS evidence,
           code_start AS span_start, code_end AS span_end, suggestion_value AS suggestion, message,
           cell_locator AS locator, raw_file, raw_sha256, _seq
    FROM verdict WHERE message IS NOT NULL"""


FINDING_COLUMNS = ("notice_id", "rule", "severity", "record_table", "record_id", "column_name", "evidence",
                   "span_start", "span_end", "suggestion", "message", "locator", "raw_file", "raw_sha256")


def corpus_findings_sql(rules: dict) -> str:
    """One query for both rules' findings, ordered as the Python rules ordered them (rule, then citation)."""
    y = rules["standard_year_differs"]
    c = rules["citation_code_conflict"]
    return (f"SELECT * FROM ({standard_year_differs_sql(y['severity'], y['known_edition_severity'])}) "
            f"UNION ALL SELECT * FROM ({citation_code_conflict_sql(c['severity'])})")


def insert_corpus_flags(con: duckdb.DuckDBPyConnection, rules: dict) -> None:
    """Insert the two rules' flags into dq_flags, open for review."""
    cols = ", ".join(FINDING_COLUMNS)
    con.execute(f"""INSERT INTO dq_flags (flag_id, {cols}, review_status)
                    SELECT {FLAG_ID}, {cols}, 'open' FROM ({corpus_findings_sql(rules)}) ORDER BY rule, _seq""")


def run_on_frames(frames: dict, rule: str, rules: dict) -> list[dict]:
    """Run one rule over a test's frames (in-memory DuckDB), returning findings as the Python rules did."""
    from pipeline.registers.standards import load_registers
    from pipeline.warehouse.partitions import rows_to_arrow
    from pipeline.warehouse.schema import TABLES

    registers = frames.get("registers") or load_registers()
    con = duckdb.connect()
    try:
        for name in ("citations", "service_provisions", "cell_lineage"):
            keep = set(TABLES[name].column_names)
            rows = [{k: v for k, v in r.items() if k in keep} for r in frames.get(name, [])]
            arrow = rows_to_arrow(TABLES[name], rows)  # noqa: F841 (DuckDB's replacement scan reads it)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM arrow")
        con.execute("CREATE TABLE standards (code VARCHAR, title VARCHAR, years INTEGER[], current_year INTEGER)")
        con.executemany("INSERT INTO standards VALUES (?, ?, ?, ?)",
                        [[s.code, s.title, list(s.years), s.current_year] for s in registers.standards])
        con.execute("CREATE TABLE documents (title VARCHAR)")
        con.executemany("INSERT INTO documents VALUES (?)", [[d.title] for d in registers.documents])
        sql = (standard_year_differs_sql(rules["standard_year_differs"]["severity"],
                                         rules["standard_year_differs"]["known_edition_severity"])
               if rule == "standard_year_differs" else citation_code_conflict_sql(rules[rule]["severity"]))
        cur = con.execute(f"SELECT * EXCLUDE (_seq) FROM ({sql}) ORDER BY _seq")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        con.close()
