"""Keystage: the local authority's education data hub."""

import os

# Polars allocates through jemalloc, which keeps freed pages for 10 s by default, so a census
# chunk's transient frames still count towards the process's memory long after they are freed
# (the largest LA's census import peaked at 470-480 MB, 440 MB with this). Freed pages go back
# after half a second instead. Read when polars is first loaded; an operator's own setting wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:500,muzzy_decay_ms:0")
