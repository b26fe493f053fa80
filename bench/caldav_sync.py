"""Bench the CalDAV provider against a local server (run by hand): ``.venv/bin/python bench/caldav_sync.py``
(``--count 300`` for a quick run).

In one run, on one freshly started server (Radicale by default, ``--server xandikos`` for Xandikos):

1. raw: a plain keep-alive loop of N HTTP PUTs (http.client) of the rendered bodies into a fresh calendar;
2. provider: the first sync of the same N follow-ups through the provider (discovery, MKCALENDAR, a listing,
   then ``apply`` of N Create actions) into another fresh calendar;
3. re-sync: a new provider instance with the saved state scans with the saved token (nothing changed);
4. engine (unless ``--no-engine``): ``sync_target`` first run and no-change run into a third calendar.

Goals: provider first sync <= 1.1 x raw loop; re-sync <= 2 requests.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "tests")]

from caldav_servers import HOST, free_port, wait_for_port  # noqa: E402
from factories import many_followups  # noqa: E402

from calsync.provider import Create, Target  # noqa: E402
from calsync.render import render_item  # noqa: E402
from calsync_caldav.provider import CalDAVProvider, resource_name  # noqa: E402

USER = "bench"
PASSWORD_ENV = "CALSYNC_BENCH_PASSWORD"


def start_radicale(tmp: Path) -> tuple[subprocess.Popen, int, str]:
    port = free_port()
    config = tmp / "radicale.conf"
    config.write_text(
        f"[server]\nhosts = {HOST}:{port}\n[auth]\ntype = none\n[storage]\nfilesystem_folder = {tmp / 'data'}\n"
        "[logging]\nlevel = warning\n"
    )
    log = (tmp / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "radicale", "-C", str(config)], stdout=log, stderr=log)
    wait_for_port(port, process, tmp / "server.log")
    return process, port, f"/{USER}/"


def start_xandikos(tmp: Path) -> tuple[subprocess.Popen, int, str]:
    port = free_port()
    log = (tmp / "server.log").open("wb")
    command = [
        sys.executable,
        "-m",
        "xandikos",
        "serve",
        "--defaults",
        "-d",
        str(tmp / "data"),
        "-l",
        HOST,
        "-p",
        str(port),
    ]
    process = subprocess.Popen(command, stdout=log, stderr=log)
    wait_for_port(port, process, tmp / "server.log")
    return process, port, "/user/calendars/"


def raw_loop(port: int, home: str, bodies: list[tuple[str, bytes]]) -> tuple[float, int]:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    auth = {"Authorization": "Basic YmVuY2g6YmVuY2g="}  # bench:bench (Radicale with auth none wants a user)
    mk = (
        b'<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
        b"<D:displayname>raw</D:displayname></D:prop></D:set></C:mkcalendar>"
    )
    conn.request("MKCALENDAR", f"{home}raw/", body=mk, headers={"Content-Type": "application/xml", **auth})
    response = conn.getresponse()
    response.read()
    assert response.status == 201, response.status
    started = time.perf_counter()
    for name, body in bodies:
        conn.request(
            "PUT", f"{home}raw/{name}", body=body, headers={"Content-Type": "text/calendar; charset=utf-8", **auth}
        )
        response = conn.getresponse()
        response.read()
        assert response.status in (201, 204), response.status
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, len(bodies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", dest="n", type=int, default=2000, help="follow-ups (default 2000)")
    parser.add_argument("--server", choices=["radicale", "xandikos"], default="radicale")
    parser.add_argument("--no-engine", action="store_true", help="skip the sync_target part")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="calsync-bench-"))
    os.environ[PASSWORD_ENV] = "bench"
    process, port, home = (start_radicale if args.server == "radicale" else start_xandikos)(tmp)
    url = f"http://{HOST}:{port}/"
    try:
        followups = many_followups(args.n)
        started = time.perf_counter()
        items = [render_item(f) for f in followups]
        render_s = time.perf_counter() - started
        bodies = [(resource_name(item.uid), item.ical) for item in items]
        print(f"server: {args.server} on {url}; {args.n} follow-ups rendered in {render_s:.2f} s")

        raw_s, raw_n = raw_loop(port, home, bodies)

        options = {"url": url, "calendar": "provider", "create": True}
        if args.server == "radicale":
            options.update(username=USER, password_env=PASSWORD_ENV)
        provider = CalDAVProvider(Target("bench", "caldav", options))
        started = time.perf_counter()
        scan = provider.scan({}, None)
        setup_requests = provider.requests_sent
        outcomes = list(provider.apply([Create(item.uid, item) for item in items]))
        first_s = time.perf_counter() - started
        failed = [o for o in outcomes if o.error is not None]
        first_requests = provider.requests_sent
        apply_requests = first_requests - setup_requests
        state = dict(provider.state)
        provider.close()
        assert not failed, failed[:3]

        known = {o.action.uid: None for o in outcomes}
        provider = CalDAVProvider(Target("bench", "caldav", options))
        provider.state = dict(state)
        listed = provider.scan({}, None)  # what the engine would hold after the first sync, with its token
        provider.close()
        assert set(listed.items) == set(known)
        provider = CalDAVProvider(Target("bench", "caldav", options))
        provider.state = dict(state)
        started = time.perf_counter()
        again = provider.scan(listed.items, listed.token)
        resync_s = time.perf_counter() - started
        resync_requests = provider.requests_sent
        provider.close()
        assert again.items == listed.items
        del scan

        print(f"raw keep-alive PUT loop : {raw_s:7.2f} s  {raw_n} requests  ({raw_n / raw_s:,.0f} PUT/s)")
        print(
            f"provider first sync    : {first_s:7.2f} s  {first_requests} requests "
            f"({setup_requests} discovery+listing, {apply_requests} PUT)"
        )
        print(f"ratio first sync / raw : {first_s / raw_s:7.3f}  (goal <= 1.10)")
        print(f"no-change re-sync      : {resync_s * 1000:7.1f} ms {resync_requests} request(s)  (goal <= 2)")

        if not args.no_engine:
            bench_engine(tmp, url, args, followups)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def bench_engine(tmp: Path, url: str, args, followups) -> None:
    from calsync.sync.engine import sync_target

    options = {"url": url, "calendar": "engine", "create": True}
    if args.server == "radicale":
        options.update(username=USER, password_env=PASSWORD_ENV)
    counted: list[CalDAVProvider] = []

    def run() -> tuple[float, int, object]:
        provider = CalDAVProvider(Target("bench-engine", "caldav", options))
        counted.append(provider)
        conn_requests = []
        original_close = provider.close

        def close() -> None:
            conn_requests.append(provider.requests_sent)
            original_close()

        provider.close = close
        started = time.perf_counter()
        report = sync_target(
            Target("bench-engine", "caldav", options), followups, provider=provider, state_dir=tmp / "state"
        )
        return time.perf_counter() - started, conn_requests[0], report

    first_s, first_n, report = run()
    print(f"engine first sync      : {first_s:7.2f} s  {first_n} requests  created {len(report.created)}")
    again_s, again_n, report = run()
    print(f"engine no-change sync  : {again_s:7.2f} s  {again_n} request(s)  writes {report.writes}")


if __name__ == "__main__":
    main()
