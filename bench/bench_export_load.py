"""Exports under load: an LA's results export, and HTML pages while others download exports.

A benchmark, not a test. It builds a scratch database (SQLite in a temporary folder, or the
PostgreSQL server of DATABASE_URL with the database keystage_bench_exports) holding one
synthetic LA's
EYFSP collection of about 5,000 pupils, loaded with `keystage synth`, `import-gias` and `import`
as users run them. Then it starts `keystage serve` on 127.0.0.1:8611, logs in and measures:
(a) one user's LA results export, CSV and XLSX, each downloaded REPEATS times (median, target
0.5 s and 1.5 s); (b) 20 sessions browsing HTML pages while 2 more download the exports over and
over, for DURATION seconds, each browser pausing THINK seconds between pages (default 1 s):
p50/p95 per page and overall, target p95 under 300 ms.
The server is always stopped, whatever happens. Standard library only (urllib, threads).

Run from the project root: .venv/bin/python bench/bench_export_load.py [--duration 30]
[--browsers 20] [--downloaders 2] [--think 1] [--schools 100] [--threads N]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

# Benchmarks sign nothing that outlives them: a scratch key when none is set (make bench sets one).
os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

ROOT = Path(__file__).resolve().parent.parent
PORT = 8611
BASE = f"http://127.0.0.1:{PORT}"
LA = "999"
USER, PASSWORD = "bench_officer", "bench-password-not-secret-1"
QUERY = "collection=eyfsp&year=2026"
PAGES = [
    "/", f"/collection/?{QUERY}", f"/collection/submissions/?{QUERY}",
    f"/cleaning/?{QUERY}", f"/cleaning/issues/?{QUERY}", "/returns/", "/cleaning/rules/",
    "/schools/", "/returns/moderation/?year=2026",
]
EXPORTS = [f"/collection/export/?{QUERY}", f"/collection/export/?{QUERY}&format=xlsx"]


def keystage(env: dict, *args: str, stdin: str | None = None) -> None:
    """Run one keystage command; stop the benchmark if it fails."""
    done = subprocess.run([sys.executable, "-m", "keystage.cli", *args], env=env, input=stdin,
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"keystage {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def prepare(env: dict, folder: Path, schools: int) -> int:
    """A fresh database with one LA's EYFSP files loaded and a data officer; pupils loaded."""
    keystage(env, "migrate")
    keystage(env, "synth", str(folder / "world"), "--la", LA, "--schools", str(schools))
    eyfsp = folder / "eyfsp"
    eyfsp.mkdir()
    pupils = 0
    for index, path in enumerate(sorted((folder / "world" / "ctf").glob("*.xml"))):
        text = path.read_text(encoding="utf-8")
        if "<Stage>FSP</Stage>" in text:
            shutil.copy(path, eyfsp / f"{index:04d}.xml")
            pupils += text.count("<Pupil>")
    keystage(env, "import-gias", str(folder / "world" / "gias_establishments.csv"))
    keystage(env, "import-gias", str(folder / "world" / "pvi_settings.csv"))
    keystage(env, "import", str(eyfsp), "--la", LA, "--year", "2026", "--yes")
    keystage(env, "user", "add", USER, "--role", "la_data_officer", "--la", LA,
             "--password-stdin", stdin=PASSWORD + "\n")
    return pupils


class Session:
    """One logged-in browser: a cookie jar and an opener."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        page = self.opener.open(BASE + "/accounts/login/", timeout=60).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"username": USER, "password": PASSWORD,
                                       "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(BASE + "/accounts/login/", data=body,
                                         headers={"Referer": BASE + "/accounts/login/"})
        self.opener.open(request, timeout=60).read()
        if not any(cookie.name == "sessionid" for cookie in self.jar):
            raise SystemExit("Could not log in to the benchmark server.")

    def get(self, path: str) -> tuple[float, int, int]:
        """Fetch a page whole: (seconds, status, bytes)."""
        started = time.perf_counter()
        with self.opener.open(BASE + path, timeout=120) as response:
            size = 0
            while chunk := response.read(65536):
                size += len(chunk)
            status = response.status
        return time.perf_counter() - started, status, size


def wait_for_server(server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("keystage serve stopped before it answered.")
        try:
            urllib.request.urlopen(BASE + "/accounts/login/", timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("keystage serve did not answer within 60 s.")


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def single_user(repeats: int) -> dict:
    """One user's LA results export, CSV and XLSX, alone on the server."""
    session = Session()
    figures = {}
    for path in EXPORTS:
        session.get(path)  # warm: the first request loads code and fills caches
        runs = [session.get(path) for _ in range(repeats)]
        assert all(status == 200 for _, status, _ in runs), path
        kind = "xlsx" if "xlsx" in path else "csv"
        figures[kind] = {"median_s": statistics.median(s for s, _, _ in runs),
                         "max_s": max(s for s, _, _ in runs), "bytes": runs[0][2]}
    return figures


def under_load(duration: float, browsers: int, downloaders: int, think: float) -> dict:
    """HTML pages' latency while other sessions download exports, for a fixed time."""
    stop = threading.Event()
    pages: dict[str, list[float]] = {path: [] for path in PAGES}
    downloads: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    # Log every session in before the clock starts, so the figures are of browsing only.
    sessions = [Session() for _ in range(browsers + downloaders)]

    def browse(number: int) -> None:
        session = sessions[number]
        index = number
        while not stop.is_set():
            path = PAGES[index % len(PAGES)]
            index += 1
            try:
                seconds, status, _ = session.get(path)
            except OSError as error:
                with lock:
                    errors.append(f"{path}: {error}")
                continue
            with lock:
                (pages[path] if status == 200 else errors).append(
                    seconds if status == 200 else f"{path}: {status}")
            stop.wait(think)  # a person reads the page before the next click

    def download(number: int) -> None:
        session = sessions[browsers + number]
        index = number
        while not stop.is_set():
            try:
                seconds, _, _ = session.get(EXPORTS[index % len(EXPORTS)])
            except OSError as error:
                with lock:
                    errors.append(f"export: {error}")
                continue
            index += 1
            with lock:
                downloads.append(seconds)

    threads = [threading.Thread(target=browse, args=(n,), daemon=True) for n in range(browsers)]
    threads += [threading.Thread(target=download, args=(n,), daemon=True)
                for n in range(downloaders)]
    for thread in threads:
        thread.start()
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    every = [s for values in pages.values() for s in values]
    return {
        "requests": len(every), "p50_s": percentile(every, 0.5), "p95_s": percentile(every, 0.95),
        "per_page": {path: (len(v), percentile(v, 0.5), percentile(v, 0.95))
                     for path, v in pages.items() if v},
        "downloads": len(downloads),
        "download_p50_s": percentile(downloads, 0.5) if downloads else None,
        "errors": errors[:10], "error_count": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--browsers", type=int, default=20)
    parser.add_argument("--downloaders", type=int, default=2)
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds a browsing session waits between pages (0: none)")
    parser.add_argument("--threads", type=int, default=None,
                        help="waitress threads for keystage serve (default: serve's own)")
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="keystage_export_bench_"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KEYSTAGE_VAR_DIR": str(folder / "var"),
           "DJANGO_SETTINGS_MODULE": "keystage.settings"}
    postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")
    if postgres:
        server_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        env["DATABASE_URL"] = server_url + "/keystage_bench_exports"
        psql = ["psql", server_url + "/postgres", "-qc"]
        subprocess.run([*psql, "DROP DATABASE IF EXISTS keystage_bench_exports"], check=True)
        subprocess.run([*psql, "CREATE DATABASE keystage_bench_exports"], check=True)
    else:
        env["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    server = None
    try:
        started = time.perf_counter()
        pupils = prepare(env, folder, options.schools)
        print(f"Loaded {pupils} EYFSP pupils in {time.perf_counter() - started:.0f} s "
              f"({'PostgreSQL' if postgres else 'SQLite'}).", flush=True)
        serve = [sys.executable, "-m", "keystage.cli", "serve", "--port", str(PORT), "--no-worker"]
        if options.threads:
            serve += ["--threads", str(options.threads)]
        server = subprocess.Popen(serve, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        wait_for_server(server)
        alone = single_user(options.repeats)
        for kind, target in (("csv", 0.5), ("xlsx", 1.5)):
            figure = alone[kind]
            print(f"(a) LA results export {kind.upper()}: median {figure['median_s']:.2f} s, "
                  f"max {figure['max_s']:.2f} s, {figure['bytes'] / 1e6:.1f} MB "
                  f"(target {target} s)", flush=True)
        load = under_load(options.duration, options.browsers, options.downloaders,
                          options.think)
        print(f"(b) {options.browsers} browsing + {options.downloaders} downloading for "
              f"{options.duration:.0f} s, think {options.think:g} s: {load['requests']} pages, "
              f"p50 {load['p50_s'] * 1000:.0f} ms, p95 {load['p95_s'] * 1000:.0f} ms "
              "(target 300 ms); "
              f"{load['downloads']} "
              f"exports, p50 {(load['download_p50_s'] or 0):.2f} s; "
              f"{load['error_count']} errors {load['errors']}")
        for path, (count, p50, p95) in load["per_page"].items():
            print(f"    {path:45} {count:5d}  p50 {p50 * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms")
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if postgres:
            subprocess.run([*psql, "DROP DATABASE IF EXISTS keystage_bench_exports"], check=False)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
