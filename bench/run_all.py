"""Run every benchmark in bench/ in turn (a benchmark, not a test); figures go in RESULTS.md."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "bench_gias_read.py", "bench_gias_import.py", "bench_synth.py", "bench_ctf_read.py",
    "bench_synth_ctf.py", "bench_collection.py", "bench_cleaning.py", "bench_return.py",
    "bench_upload_memory.py", "bench_ks4.py",
]

if __name__ == "__main__":
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], check=True)
