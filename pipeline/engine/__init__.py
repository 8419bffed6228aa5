"""Where the per-file function runs: on every local core (default) or on a dask cluster (`--engine dask`)."""
