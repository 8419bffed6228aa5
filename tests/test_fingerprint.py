"""Which edits force which work: the layer fingerprints hash only what shapes their layer."""

import shutil

import pytest

from pipeline.warehouse import fingerprint


@pytest.fixture
def package(tmp_path, monkeypatch):
    copy = tmp_path / "pipeline"
    shutil.copytree(fingerprint.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(fingerprint, "PACKAGE", copy)
    return copy


def layers(expectations):
    return fingerprint.extraction_fingerprint(), fingerprint.build_fingerprint(expectations)


@pytest.mark.parametrize("edited, extraction_changes, build_changes", [
    ("extract/html.py", True, True),
    ("data/table_profiles.toml", True, True),
    ("warehouse/schema.py", True, True),
    ("warehouse/assemble.py", False, True),
    ("report/__init__.py", False, True),
    ("bench.py", False, False),
    ("cli.py", False, False),
    ("serve/site.py", False, False),
    ("engine/local.py", False, False),
])
def test_an_edit_changes_only_the_layers_it_shapes(package, tmp_path, edited, extraction_changes, build_changes):
    expectations = tmp_path / "expectations"
    expectations.mkdir()
    before = layers(expectations)
    target = package / edited
    assert target.exists(), edited
    target.write_text(target.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    after = layers(expectations)
    assert (before[0] != after[0], before[1] != after[1]) == (extraction_changes, build_changes)


def test_an_expectation_suite_edit_changes_the_build_only(package, tmp_path):
    expectations = tmp_path / "expectations"
    expectations.mkdir()
    suite = expectations / "notices.json"
    suite.write_text("{}", encoding="utf-8")
    before = layers(expectations)
    suite.write_text('{"expectations": []}', encoding="utf-8")
    after = layers(expectations)
    assert before[0] == after[0] and before[1] != after[1]


def test_an_overlay_data_file_counts_like_the_one_it_replaces(package, tmp_path, monkeypatch):
    expectations = tmp_path / "expectations"
    expectations.mkdir()
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    monkeypatch.setenv("POLICY_DATA_DIR", str(overlay))
    shipped = layers(expectations)
    (overlay / "table_profiles.toml").write_text((package / "data" / "table_profiles.toml").read_text(encoding="utf-8"),
                                                 encoding="utf-8")
    assert layers(expectations) == shipped  # the same bytes under the same name: nothing to redo
    (overlay / "table_profiles.toml").write_text("# a deployment's own profiles\n", encoding="utf-8")
    edited = layers(expectations)
    assert edited[0] != shipped[0] and edited[1] != shipped[1]
    (overlay / "browse.toml").write_text("# the site's own\n", encoding="utf-8")
    assert layers(expectations) == edited
