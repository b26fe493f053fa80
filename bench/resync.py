"""calsync next to vdirsyncer on the same data, on this machine (issue 12's "Measured" list). Run by hand:

    .venv/bin/python bench/resync.py            # full size, a few minutes
    .venv/bin/python bench/resync.py --quick    # small sizes, a smoke run (well under a minute)
    .venv/bin/python bench/resync.py --only vdir,caldav,startup

Every number is a wall time of the real command in a subprocess (``calsync sync``, ``vdirsyncer sync``), the median
of ``--runs`` runs where a run can be repeated; every ratio is against a baseline measured in the same run. The CalDAV
servers (Radicale, Xandikos) are started as tests/caldav_servers.py starts them, on 127.0.0.1, and every client —
calsync, vdirsyncer and the raw PUT loops — reaches them through the same counting proxy, so calsync's requests are
counted and every side pays the same hop. Exit status 1 when a goal of the issue is missed, 0 when all are met.
"""

from __future__ import annotations

import argparse
import base64
import collections
import http.client
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

BIN = Path(sys.executable).parent
CALSYNC = str(BIN / "calsync")
VDIRSYNCER = str(BIN / "vdirsyncer")
PASSWORD_ENV = "CALSYNC_BENCH_PASSWORD"
FOLLOWUPS_PER_INTERVIEW = 5  # closing questions, two thank-yous, check-in, retry
PARALLEL_PUTS = 4  # the bounded pool of the raw parallel loop

ZONES = ("America/Chicago", "America/New_York", "Europe/Berlin", "Asia/Tokyo")
TIMELINES = (
    "We'll get back to you within a week",
    "3-5 business days",
    "by the end of next week",
    "within 48 hours",
)


# --- data --------------------------------------------------------------------------------------------------------


def interview_day(n: int) -> tuple[int, int, int]:
    """Two interviews a day from 2027-01-01 on (days 1-28 of each month)."""
    day = n // 2
    return 2027 + day // 336, 1 + (day // 28) % 12, 1 + day % 28


def interview_text(n: int, extra: str = "") -> str:
    """Interview ``n``: two interviewers, so five follow-ups; zones and timelines vary with ``n``."""
    year, month, dom = interview_day(n)
    hour = 9 + (n % 2) * 5
    zone = ZONES[n % len(ZONES)]
    return (
        f'\n[[interviews]]\nid = "bench-{n}"\ncompany = "Company {n}"\nrole = "Engineer"\n'
        f"start = {year}-{month:02d}-{dom:02d}T{hour:02d}:00:00\n"
        f"end = {year}-{month:02d}-{dom:02d}T{hour + 1:02d}:00:00\n"
        f'timezone = "{zone}"\ntimeline = "{TIMELINES[n % len(TIMELINES)]}"\nfollow_up = "email"\napproved = true\n'
        f'country = "US"\n\n[[interviews.interviewers]]\nname = "Dana {n}"\nemail = "dana{n}@example.com"\n'
        f'primary = true\ntimezone = "America/New_York"\n\n[[interviews.interviewers]]\nname = "Lee {n}"\n'
        f'email = "lee{n}@example.com"\n{extra}'
    )


def write_interviews(path: Path, followups: int, changed: dict[int, str] | None = None) -> None:
    count = max(1, followups // FOLLOWUPS_PER_INTERVIEW)
    changed = changed or {}
    path.write_text("".join(interview_text(n, changed.get(n, "")) for n in range(count)))


def extension(n: int) -> str:
    """An event on interview ``n`` that moves its check-in and retry (two updates)."""
    year, month, dom = interview_day(n)
    return (
        f'\n[[interviews.events]]\ndate = {year}-{month:02d}-{dom + 1:02d}\nkind = "extended"\n'
        f"decision_by = 2030-01-{1 + n % 28:02d}\n"
    )


# --- running things ----------------------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """The environment of every measured command: this one, less PYTHONDONTWRITEBYTECODE (set in some shells), which
    would make every Python program here compile its sources on every run -- a cost no installed tool pays, and one
    that grows with the number of modules, not with the work."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


LAST_RUN: tuple[float, float] = (0.0, 0.0)  # (start, end) of the last run(), on time.perf_counter()


def run(command: list[str], env: dict | None = None) -> float:
    global LAST_RUN
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**child_env(), **(env or {})})
    ended = time.perf_counter()
    LAST_RUN = (started, ended)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return ended - started


def median_of(runs: int, command: list[str], env: dict | None = None) -> float:
    return statistics.median(run(command, env) for _ in range(runs))


class Workspace:
    """A temp folder with an interview file, a calsync config with the given targets and a state dir."""

    def __init__(self, root: Path, followups: int, targets: str) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.interviews = root / "interviews.toml"
        self.config = root / "config.toml"
        self.followups = followups
        write_interviews(self.interviews, followups)
        self.config.write_text(
            f'timezone = "America/Chicago"\ncountry = "US"\ninterviews = "{self.interviews}"\n'
            f'state_dir = "{root / "state"}"\n\n{targets}'
        )

    def sync(self, *args: str) -> list[str]:
        return [CALSYNC, "--config", str(self.config), "sync", *args]


def vdirsyncer_config(root: Path, a: str, b: str, pair: str = "") -> Path:
    """A vdirsyncer config with one pair of two storages (their option lines given) and no collections."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "vdirsyncer.conf"
    path.write_text(
        f'[general]\nstatus_path = "{root / "status"}/"\n\n'
        f'[pair bench]\na = "bench_a"\nb = "bench_b"\ncollections = null\n{pair}\n\n'
        f"[storage bench_a]\n{a}\n\n[storage bench_b]\n{b}\n"
    )
    return path


def filesystem_storage(path: Path) -> str:
    path.mkdir(parents=True, exist_ok=True)
    return f'type = "filesystem"\npath = "{path}"\nfileext = ".ics"'


def vdirsyncer(config: Path, *args: str) -> list[str]:
    return [VDIRSYNCER, "-c", str(config), *args]


# --- report ------------------------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    ours: float
    theirs: float
    baseline: str
    goal: float
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.theirs

    @property
    def met(self) -> bool:
        return self.ratio <= self.goal

    def line(self) -> str:
        verdict = "ok  " if self.met else "MISS"
        note = f"  {self.note}" if self.note else ""
        return (
            f"{verdict} {self.name:<44} calsync {self.ours:7.2f} s  {self.baseline} {self.theirs:7.2f} s  "
            f"ratio {self.ratio:5.2f} (goal <= {self.goal}){note}"
        )


RESULTS: list[Result] = []
FAILED_CHECKS: list[str] = []


def record(result: Result) -> None:
    RESULTS.append(result)
    print(result.line(), flush=True)


# --- vdir --------------------------------------------------------------------------------------------------------


def bench_vdir(tmp: Path, size: int, runs: int, change: bool) -> None:
    print(f"\n== vdir, {size} follow-ups ==", flush=True)
    ws = Workspace(tmp / "vdir", size, f'[targets.files]\nprovider = "vdir"\npath = "{tmp / "vdir" / "out"}"\n')
    first = run(ws.sync())
    files = len(list((tmp / "vdir" / "out").glob("*.ics")))
    if files != size:
        FAILED_CHECKS.append(f"vdir: expected {size} files after the first sync, found {files}")
    again = median_of(runs, ws.sync())

    config = vdirsyncer_config(
        tmp / "vds-vdir", filesystem_storage(tmp / "vdir" / "out"), filesystem_storage(tmp / "vds-vdir" / "copy")
    )
    run(vdirsyncer(config, "discover"))
    copy = run(vdirsyncer(config, "sync"))
    copied = len(list((tmp / "vds-vdir" / "copy").glob("*.ics")))
    if copied != size:
        FAILED_CHECKS.append(f"vdirsyncer copied {copied} of {size} files")
    their_again = median_of(runs, vdirsyncer(config, "sync"))
    record(Result(f"vdir no-change re-sync, {size}", again, their_again, "vdirsyncer", 0.5))
    record(Result(f"vdir first sync, {size}", first, copy, "vdirsyncer copy", 2.0))

    if change:
        timings = []
        changed: dict[int, str] = {}
        for n in range(runs):  # each run finds one more interview changed since the sync before it
            changed[n * 7] = extension(n * 7)
            write_interviews(ws.interviews, size, changed)
            timings.append(run(ws.sync()))
        write_interviews(ws.interviews, size)
        record(Result(f"one changed interview among {size}", statistics.median(timings), again, "own no-change", 2.0))


# --- CalDAV ------------------------------------------------------------------------------------------------------


def servers(tmp: Path) -> dict[str, Callable[[], AbstractContextManager]]:
    import caldav_servers

    for name in ("radicale", "xandikos"):
        (tmp / name).mkdir(parents=True, exist_ok=True)
    return {
        "radicale": lambda: contextmanager(caldav_servers._radicale)(tmp / "radicale", auth=True),
        "xandikos": lambda: contextmanager(caldav_servers._xandikos)(tmp / "xandikos"),
    }


def calendar_path(server, display_name: str) -> str:
    """The path of the calendar called ``display_name`` in the server's home set (what calsync created)."""
    import xml.etree.ElementTree as ET

    body = b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:propfind>'
    status, _, content = server.request(
        "PROPFIND", server.home, body, {"Depth": "1", "Content-Type": "application/xml"}
    )
    assert status == 207, status
    for response in ET.fromstring(content).findall("{DAV:}response"):
        if (response.findtext(".//{DAV:}displayname") or "").strip() == display_name:
            return urlsplit(response.findtext("{DAV:}href").strip()).path
    raise RuntimeError(f"no calendar called {display_name!r} under {server.home}")


def raw_put_child(url: str, username: str, password: str, folder: str, source: str, workers: int) -> None:
    """Child process: PUT every .ics of ``source`` into ``folder`` with ``workers`` keep-alive connections."""
    parts = urlsplit(url)
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "text/calendar; charset=utf-8"}
    bodies = [(p.name, p.read_bytes()) for p in sorted(Path(source).glob("*.ics"))]
    local = threading.local()

    def put(item: tuple[str, bytes]) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        conn.request("PUT", f"{folder}{item[0]}", body=item[1], headers={**headers, "If-None-Match": "*"})
        response = conn.getresponse()
        response.read()
        if response.status not in (201, 204):
            raise RuntimeError(f"PUT {item[0]}: {response.status}")

    started = time.perf_counter()
    if workers == 1:
        for item in bodies:
            put(item)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(put, bodies))
    print(json.dumps({"seconds": time.perf_counter() - started, "count": len(bodies)}))


def raw_put(server, folder: str, source: Path, workers: int) -> float:
    server.make_calendar(folder.strip("/").rsplit("/", 1)[-1])
    command = [sys.executable, __file__, "--raw-put", server.url, server.username, folder, str(source), str(workers)]
    server.proxy.reset()
    done = subprocess.run(
        command, capture_output=True, text=True, env={**child_env(), PASSWORD_ENV: server.password}, check=True
    )
    SERVER_SECONDS[workers] = server_seconds(server)
    if workers == 1:
        gaps = put_gaps([record for record in server.proxy.snapshot() if record.method == "PUT"])
        RAW_GAP_MS[workers] = 1000 * statistics.mean(gaps) if gaps else 0.0
    return json.loads(done.stdout)["seconds"]


SERVER_SECONDS: dict[int, float] = {}
RAW_GAP_MS: dict[int, float] = {}


def put_gaps(puts) -> list[float]:
    """Seconds from each PUT's answer (as the proxy got it from the server) to the next PUT reaching the proxy."""
    return [b.at - (a.at + a.seconds) for a, b in itertools.pairwise(puts)]


def put_phases(records, started: float, ended: float) -> str:
    """Where a first sync's wall time went, from the proxy's clock (the same as this process's): before the first
    PUT reached the proxy (start-up, plan, render, discovery), the writes, after the last one was answered (the
    token, the state, exit); and the mean gap between one PUT's answer and the next PUT (the client's turn)."""
    puts = [record for record in records if record.method == "PUT" and record.at]
    if len(puts) < 2:
        return ""
    gaps = put_gaps(puts)
    last = puts[-1].at + puts[-1].seconds
    return (
        f"before the first PUT {puts[0].at - started:.2f} s, writes {last - puts[0].at:.2f} s, after {ended - last:.2f}"
        f" s; between PUTs {1000 * statistics.mean(gaps):.2f} ms"
    )


def server_seconds(server) -> float:
    """The time the server itself spent answering the requests the proxy saw since its last reset (summed: with
    parallel requests it can exceed the wall time)."""
    return sum(record.seconds for record in server.proxy.snapshot())


def bench_caldav(
    tmp: Path, name: str, start: Callable[[], AbstractContextManager], size: int, runs: int, pools: list[int]
) -> None:
    print(f"\n== {name}, {size} follow-ups ==", flush=True)
    with start() as server:
        env = {PASSWORD_ENV: server.password}
        files = tmp / f"{name}-ws" / "files"
        login = f'username = "{server.username}"\npassword_env = "{PASSWORD_ENV}"\n'
        targets = (
            f'[targets.dav]\nprovider = "caldav"\nurl = "{server.url}"\ncalendar = "calsync"\ncreate = true\n'
            f'{login}\n[targets.files]\nprovider = "vdir"\npath = "{files}"\n'
        )
        for n in pools:  # calsync's first sync with n writes in flight (the target option connections)
            targets += (
                f'\n[targets.pool{n}]\nprovider = "caldav"\nurl = "{server.url}"\ncalendar = "calsync-{n}"\n'
                f"create = true\nconnections = {n}\n{login}"
            )
        ws = Workspace(tmp / f"{name}-ws", size, targets)
        # the same items as files: the raw loops' bodies and vdirsyncer's source; its time is calsync's local part
        # (start-up, plan, render, state) of a first sync, without the network
        local = run(ws.sync("files"), env)

        raw_seq = raw_put(server, f"{server.home}raw-seq/", files, 1)
        raw_par = raw_put(server, f"{server.home}raw-par/", files, PARALLEL_PUTS)
        server.proxy.reset()
        first = run(ws.sync("dav"), env)
        first_requests = len(server.proxy.records)
        phases = put_phases(server.proxy.snapshot(), *LAST_RUN)
        methods = collections.Counter(record.method for record in server.proxy.snapshot())
        faster = "sequential" if raw_seq <= raw_par else f"parallel x{PARALLEL_PUTS}"
        # calsync's provider writes one request at a time: parallel PUTs were no faster on these servers (2026-11-29)
        verdict = (
            "parallel writes do not help here: calsync writes sequentially"
            if raw_seq <= raw_par
            else "parallel writes help here, calsync writes sequentially: a case for a pool"
        )
        record(
            Result(
                f"{name} first sync, {size}",
                first,
                min(raw_seq, raw_par),
                "raw PUT loop",
                1.0,
                f"raw sequential {raw_seq:.2f} s, parallel x{PARALLEL_PUTS} {raw_par:.2f} s ({faster} faster: "
                f"{verdict}); the server's own time: raw sequential {SERVER_SECONDS[1]:.2f} s, calsync "
                f"{server_seconds(server):.2f} s; calsync {first_requests} requests "
                f"({', '.join(f'{n} {method}' for method, n in methods.most_common())}), of its time "
                f"{local:.2f} s is local (the same first sync into a vdir: start-up, plan, render, state); {phases} "
                f"(the raw sequential loop: {RAW_GAP_MS.get(1, 0):.2f} ms)",
            )
        )
        for n in pools:
            server.proxy.reset()
            pooled = run(ws.sync(f"pool{n}"), env)
            record(
                Result(
                    f"{name} first sync, {size}, connections={n}",
                    pooled,
                    min(raw_seq, raw_par),
                    "raw PUT loop",
                    1.0,
                    f"calsync with one connection {first:.2f} s; the server's own time {server_seconds(server):.2f} s; "
                    f"{len(server.proxy.records)} requests",
                )
            )
        timings, counts = [], []
        for _ in range(runs):
            server.proxy.reset()
            timings.append(run(ws.sync("dav"), env))
            counts.append(len(server.proxy.records))
        again = statistics.median(timings)

        # vdirsyncer syncs a local copy of the same items with calsync's own collection; "b wins" keeps it from ever
        # writing to the server, so calsync's items and state stay as they are.
        collection = calendar_path(server, "calsync")
        storage = (
            f'type = "caldav"\nurl = "{server.url.rstrip("/")}{collection}"\n'
            f'username = "{server.username}"\npassword = "{server.password}"'
        )
        shutil.copytree(files, tmp / f"vds-{name}" / "local")
        config = vdirsyncer_config(
            tmp / f"vds-{name}",
            filesystem_storage(tmp / f"vds-{name}" / "local"),
            storage,
            'conflict_resolution = "b wins"',
        )
        run(vdirsyncer(config, "discover"))
        their_first = run(vdirsyncer(config, "sync"))
        server.proxy.reset()
        their_again = median_of(runs, vdirsyncer(config, "sync"))
        their_requests = len(server.proxy.records) / runs
        record(
            Result(
                f"{name} no-change re-sync, {size}",
                again,
                their_again,
                "vdirsyncer",
                0.5,
                f"calsync requests {max(counts)}, vdirsyncer {their_requests:.0f}; vdirsyncer's first sync "
                f"{their_first:.2f} s",
            )
        )
        if max(counts) != 1:
            FAILED_CHECKS.append(f"{name}: calsync's no-change re-sync sent {counts} requests (goal 1)")


# --- startup -----------------------------------------------------------------------------------------------------


def bench_startup(tmp: Path, runs: int) -> None:
    print(f"\n== one interview, median of {runs} ==", flush=True)
    ws = Workspace(tmp / "one", FOLLOWUPS_PER_INTERVIEW, f'[targets.files]\nprovider = "vdir"\npath = "{tmp / "o"}"\n')
    click = median_of(runs, [sys.executable, "-c", "import click"])
    plan = median_of(runs, [CALSYNC, "--config", str(ws.config), "plan"])
    dry = median_of(runs, ws.sync("--dry-run"))
    record(Result("calsync plan, one interview", plan, click, "import click", 3.0))
    record(Result("calsync sync --dry-run, one interview", dry, click, "import click", 3.0))


# --- main --------------------------------------------------------------------------------------------------------

PARTS = ("vdir", "caldav", "startup")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--runs", type=int, help="repeats of each no-change run (median); default 3, 7 for startup")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of {PARTS}")
    parser.add_argument("--servers", default="radicale,xandikos", help="CalDAV servers to run")
    parser.add_argument("--caldav-size", type=int, help="CalDAV follow-ups (default 1,000; 100 with --quick)")
    parser.add_argument(
        "--connections", help="also run calsync's CalDAV first sync with these writes in flight, e.g. 2,4"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (its path is printed)")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    vdir_size, caldav_size = (500, 100) if args.quick else (10_000, 1_000)
    caldav_size = args.caldav_size or caldav_size
    pools = [int(n) for n in args.connections.split(",") if n.strip()] if args.connections else []
    runs = args.runs or (2 if args.quick else 3)
    tmp = Path(tempfile.mkdtemp(prefix="calsync-resync-bench-"))
    print(f"calsync: {CALSYNC}\nvdirsyncer: {VDIRSYNCER}\nwork folder: {tmp}", flush=True)
    started = time.perf_counter()
    try:
        if "vdir" in parts:
            bench_vdir(tmp, vdir_size, runs, change=True)
        if "caldav" in parts:
            available = servers(tmp)
            for name in args.servers.split(","):
                bench_caldav(tmp, name, available[name], caldav_size, runs, pools)
        if "startup" in parts:
            bench_startup(tmp, args.runs or (3 if args.quick else 7))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n== summary ({time.perf_counter() - started:.0f} s) ==")
    for result in RESULTS:
        print(result.line())
    for check in FAILED_CHECKS:
        print(f"FAIL {check}")
    missed = [r for r in RESULTS if not r.met]
    print(f"{len(RESULTS) - len(missed)} goals met, {len(missed)} missed, {len(FAILED_CHECKS)} checks failed")
    return 1 if missed or FAILED_CHECKS else 0


if __name__ == "__main__":
    if "--raw-put" in sys.argv:
        url, username, folder, source, workers = sys.argv[sys.argv.index("--raw-put") + 1 :]
        raw_put_child(url, username, os.environ[PASSWORD_ENV], folder, source, int(workers))
        sys.exit(0)
    sys.exit(main())
