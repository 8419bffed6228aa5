"""Size caps checked before a reader materializes anything: zip archives (DOCX/XLSX) and sheet grids.

A zip bomb is refused from its directory alone: Python's ``zipfile`` never yields more bytes than a
member's declared size (and checks the CRC), so the declared sizes bound what reading can allocate.
"""

from __future__ import annotations

import io
import tomllib
import zipfile
from dataclasses import dataclass

from pipeline.config import data_path
from pipeline.errors import PipelineError


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps for one file (pipeline/data/limits.toml [grid] and [zip]); the defaults fit every real notice seen and
    stop hostile files early."""

    max_cells: int = 2_000_000  # grid positions of one table or sheet (rows × columns), before the grid is built
    max_span: int = 1000  # largest rowspan/colspan/gridSpan honoured
    max_zip_uncompressed: int = 256 * 2**20  # all members of a DOCX/XLSX together
    max_zip_ratio: float = 200.0  # uncompressed/compressed of one member (deflate tops out near 1000)
    ratio_floor: int = 2**20  # members smaller than this are not ratio-checked (tiny parts compress oddly)
    max_zip_members: int = 20_000


def load_limits() -> Limits:
    """Read the caps from limits.toml (a missing key keeps its default)."""
    with open(data_path("limits.toml"), "rb") as fh:
        doc = tomllib.load(fh)
    g, z = doc.get("grid", {}), doc.get("zip", {})
    d = Limits()
    return Limits(max_cells=int(g.get("max_cells", d.max_cells)), max_span=int(g.get("max_span", d.max_span)),
                  max_zip_uncompressed=int(z.get("max_uncompressed_mb", d.max_zip_uncompressed >> 20)) << 20,
                  max_zip_ratio=float(z.get("max_ratio", d.max_zip_ratio)),
                  ratio_floor=int(z.get("ratio_floor_kb", d.ratio_floor >> 10)) << 10,
                  max_zip_members=int(z.get("max_members", d.max_zip_members)))


DEFAULT_LIMITS = load_limits()


class TooLarge(PipelineError):
    """The file exceeds a size cap (zip bomb, or a sheet too large to read safely)."""

    hint = "check the file by hand; if it is genuine, raise the cap in pipeline/data/limits.toml"


def check_zip(data: bytes, *, file: str | None = None, stage: str = "extract",
              limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a zip whose members would expand past the caps, before any member is read.

    A zip whose directory cannot be read passes: the reader then reports it as damaged in its own words.
    """
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    if len(infos) > limits.max_zip_members:
        raise TooLarge(f"the archive holds {len(infos):,} members (cap {limits.max_zip_members:,})",
                       file=file, stage=stage)
    total = sum(i.file_size for i in infos)
    if total > limits.max_zip_uncompressed:
        raise TooLarge(f"the archive expands to {total:,} bytes (cap {limits.max_zip_uncompressed:,})",
                       file=file, stage=stage)
    for info in infos:
        if info.file_size >= limits.ratio_floor:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_zip_ratio:
                raise TooLarge(f"member {info.filename} expands {ratio:,.0f}× (cap {limits.max_zip_ratio:g}×): "
                               "a zip bomb?", file=file, stage=stage)


def check_cells(n_rows: int, n_cols: int, *, file: str | None, sheet: str, stage: str = "extract",
                limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a sheet whose used range is larger than the cell cap."""
    if n_rows * n_cols > limits.max_cells:
        raise TooLarge(f"sheet {sheet}: used range {n_rows:,} rows × {n_cols:,} columns exceeds "
                       f"{limits.max_cells:,} cells", file=file, stage=stage)


def check_grid(n_rows: int, n_cols: int, *, what: str, file: str | None = None, stage: str = "extract",
               limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a table whose grid (spans expanded) would be larger than the cell cap, before it is built."""
    if n_rows * n_cols > limits.max_cells:
        raise TooLarge(f"{what}: {n_rows:,} rows × {n_cols:,} columns exceeds {limits.max_cells:,} grid positions",
                       file=file, stage=stage)
