"""Issue 12's page target: an LA's report (dashboard) page at p95 under 300 ms with 20 users at
once, against a running Keystage (for example `make run`, with the demo loaded).

Each simulated user signs in with its own session, then all of them ask for the page at once,
again and again; the script prints p50, p95 and the slowest of every request. The worker should
have computed the demo's reports first (a minute after `make run` starts): pages then read the
stored figures, and compute them only when their files have changed.

Run from the project root, with Keystage serving:
    .venv/bin/python bench/bench_dashboard.py [--base http://127.0.0.1:8000] [--users 20]
        [--rounds 10] [--username analyst] [--password keystage-demo]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import re
import statistics
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

PAGE = "/reports/?dataset=eyfsp&year=2026&by=school&national=on"


def session(base: str, username: str, password: str) -> urllib.request.OpenerDirector:
    """A signed-in browser session (cookie jar), through the sign-in form and its CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username,
                                   "password": password}).encode()
    request = urllib.request.Request(f"{base}/accounts/login/", data=data,
                                     headers={"Referer": f"{base}/accounts/login/"})
    opener.open(request).read()
    return opener


def timed(opener, url: str) -> float:
    started = time.perf_counter()
    with opener.open(url) as response:
        response.read()
        assert response.status == 200, response.status
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--username", default="analyst")
    parser.add_argument("--password", default="keystage-demo")
    parser.add_argument("--page", default=PAGE)
    args = parser.parse_args()
    openers = [session(args.base, args.username, args.password) for _ in range(args.users)]
    url = args.base + args.page
    timed(openers[0], url)  # the first read warms the server's caches
    times = []
    with ThreadPoolExecutor(max_workers=args.users) as pool:
        for _ in range(args.rounds):
            times += list(pool.map(lambda o: timed(o, url), openers))
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"{len(times)} requests of {args.page} by {args.users} users at once: p50 "
          f"{statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (target under "
          f"300 ms), slowest {times[-1] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
