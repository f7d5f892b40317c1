"""Benchmarks: each script measures one thing; `harness` holds the soaks and the measuring helpers they share."""
