"""repro's benchmarks (`make bench`, `python bench/run.py`); see bench/run.py."""
