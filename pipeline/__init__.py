"""policy-tables: published Chinese policy notices into a tidy, checked DuckDB warehouse."""

__version__ = "0.1.0"
