"""DOCX body paragraphs as text blocks, and the zip caps shared by the DOCX and XLSX readers."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from pipeline.extract.blocks import Block
from pipeline.extract.docx import docx_to_blocks, docx_to_grids
from pipeline.extract.limits import Limits, TooLarge, check_zip
from pipeline.extract.xlsx import xlsx_to_grids
from pipeline.text import clean_text
from tests.conftest import RAW
from tests.fixtures.real_files import TRUTH, real_bytes

D14 = "d14-sh-insurance-exam-rules.docx"


def test_d14_paragraphs_in_order_with_title_chapters_and_articles():
    blocks = docx_to_blocks(real_bytes(D14), file=D14)
    assert docx_to_grids(real_bytes(D14)) == []
    # The title is printed over two lines (paragraphs 2 and 3).
    assert [b.locator for b in blocks[:2]] == ["paragraph 2", "paragraph 3"]
    assert clean_text("\n".join(b.text for b in blocks[:2])) == TRUTH[D14]["meta"]["title"]
    chapters = [b.text for b in blocks if re.match(r"^第[一二三四五六七八九十]+章", b.text)]
    articles = [b.text for b in blocks if re.match(r"^第[一二三四五六七八九十]+条", b.text)]
    assert (len(chapters), len(articles)) == (7, 25)  # 7 章, 25 条, as printed
    assert chapters[0] == "第一章 总 则" and articles[-1].startswith("第二十五条 本办法自印发之日起施行。")
    numbers = [int(b.locator.split()[1]) for b in blocks]
    assert numbers == sorted(set(numbers)) and {b.source_format for b in blocks} == {"docx"}


def test_paragraphs_inside_tables_are_not_blocks():
    data = (RAW / "xm-mzj-2025-095-list.docx").read_bytes()
    (grid,) = docx_to_grids(data)
    assert docx_to_blocks(data) == [Block("厦门市服务类社会救助清单(试行)", "paragraph 1", source_format="docx")]
    assert grid.n_rows > 50  # the table's 52 rows of text stayed in the grid


def _bomb(member: str, size: int, extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (extra or {}).items():
            z.writestr(name, data)
        with z.open(member, "w", force_zip64=True) as fh:
            chunk = b"\0" * 2**20
            for _ in range(size // 2**20):
                fh.write(chunk)
    return buf.getvalue()


@pytest.mark.parametrize("read, member", [(docx_to_grids, "word/document.xml"), (docx_to_blocks, "word/document.xml"),
                                          (xlsx_to_grids, "xl/worksheets/sheet1.xml")])
def test_a_zip_bomb_is_refused_before_parsing(read, member):
    data = _bomb(member, 8 * 2**20, {"[Content_Types].xml": b"<Types/>"})
    assert len(data) < 20_000  # 8 MiB of zeros deflate ~1000×
    with pytest.raises(TooLarge, match=rf"^file bomb, stage extract: member {member} expands 1,0\d\d× "
                                       r"\(cap 200×\): a zip bomb\?"):
        read(data, file="bomb")


def test_the_total_uncompressed_size_is_capped():
    data = _bomb("word/document.xml", 3 * 2**20)
    with pytest.raises(TooLarge, match=r"the archive expands to 3,145,728 bytes \(cap 2,097,152\)"):
        check_zip(data, file="big.docx", limits=Limits(max_zip_uncompressed=2 * 2**20, max_zip_ratio=1e9))
    check_zip(real_bytes("d08-sx-sydw-signup-2025.xlsx"))  # a real 11,000-row workbook passes the defaults
