"""The generic table layer: any Grid, whatever its format, read as a logical table and its warehouse rows."""

from pipeline.tables.build import grid_to_table, why_not_data
from pipeline.tables.model import DataRow, LogicalTable, ROLES
from pipeline.tables.records import table_to_records
from pipeline.tables.vocab import BadTableVocab, TableVocab, load_table_vocab

__all__ = ["BadTableVocab", "DataRow", "LogicalTable", "ROLES", "TableVocab", "grid_to_table", "load_table_vocab",
           "table_to_records", "why_not_data"]
