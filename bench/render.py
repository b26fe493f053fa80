"""Benchmark (run by hand): plan and render 10,000 interviews' follow-ups to one .ics, against icalendar alone.

    .venv/bin/python bench/render.py [--interviews 10000] [--out /tmp/plan.ics]

Prints: the planning time; render_calendar's time (without and with a decorate callback, as the engine passes
one); the time icalendar alone takes to build and serialize the same components (same texts, computed outside
its timing, and icalendar's own VTIMEZONEs); the ratio (goal <= 1.5); and the peak memory of render_calendar
(tracemalloc, in a separate run; goal < 200 MB) and of the whole process (ru_maxrss).
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import icalendar

from calsync.model import EventKind, HistoryEvent, Interview, Interviewer, Medium
from calsync.render import CATEGORY, KIND_LABELS, render_calendar, render_time
from calsync.templates import Templates, compose_description, contact_line
from calsync.uids import make_uid

ZONES = [
    ZoneInfo(key)
    for key in (
        "America/Chicago",
        "America/New_York",
        "Europe/London",
        "Europe/Berlin",
        "Asia/Kolkata",
        "Australia/Sydney",
        "America/Los_Angeles",
        "UTC",
    )
]


def interviews(count: int) -> list[Interview]:
    result = []
    first = datetime(2026, 1, 5, 9, 0)
    for n in range(count):
        zone = ZONES[n % len(ZONES)]
        other = ZONES[(n * 7 + 3) % len(ZONES)]
        start = (first + timedelta(days=(n * 3) % 600, hours=n % 7)).replace(tzinfo=zone)
        events = ()
        if n % 5 == 0:
            events = (HistoryEvent(start.date() + timedelta(days=12), EventKind.REJECTED),)
        result.append(
            Interview(
                id=f"company-{n}",
                company=f"Company {n}",
                role="Staff Engineer" if n % 2 else "Backend Developer",
                start=start,
                end=start + timedelta(hours=1),
                timezone=zone,
                interviewers=(
                    Interviewer(f"Person {n} A", other, f"a{n}@example.com", "+1 312 555 0100", primary=True),
                    Interviewer(f"Person {n} B", zone, f"b{n}@example.com"),
                ),
                timeline="We'll get back to you within a week" if n % 3 else None,
                follow_up=Medium.PHONE if n % 4 == 0 else Medium.EMAIL,
                approved=True if n % 2 else None,
                requested=("portfolio link", "two references") if n % 3 == 0 else (),
                country="US",
                events=events,
            )
        )
    return result


def plan_followups(items: list[Interview]):
    try:
        from calsync.planner import plan
    except ImportError:  # no planner yet: check-ins only, as tests/factories would build them
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from factories import followup

        from calsync.model import Kind

        return [followup(Kind.CHECK_IN, interview=iv, due=iv.end + timedelta(days=9)) for iv in items]
    return plan(items, parse_timeline=lambda text, interview, calendar: None).followups


def icalendar_alone(followups, texts) -> bytes:
    """The same components, built directly with icalendar, and icalendar's own VTIMEZONEs."""
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", "-//bench//icalendar//EN")
    years = set()
    for f, (summary, description) in zip(followups, texts, strict=True):
        event = icalendar.Event()
        start = render_time(f.due)
        years.add(start.year)
        event.add("UID", f.uid)
        event.add("DTSTAMP", (f.revised or f.interview.end).astimezone(UTC))
        event.add("SEQUENCE", f.revision)
        event.add("DTSTART", start)
        event.add("DTEND", start + timedelta(minutes=f.duration_minutes))
        event.add("STATUS", "CANCELLED" if f.cancelled else "CONFIRMED")
        event.add("SUMMARY", summary)
        event.add("DESCRIPTION", description)
        contact = contact_line(f)
        if contact:
            event.add("CONTACT", contact)
        event.add("CATEGORIES", [CATEGORY, KIND_LABELS[f.kind], f.interview.company])
        event.add("RELATED-TO", make_uid(f.interview.id, "interview"), parameters={"RELTYPE": "SIBLING"})
        event.add("X-CALSYNC-MANAGED", "1")
        event.add("X-CALSYNC-INTERVIEW", f.interview.id)
        event.add("X-CALSYNC-KIND", f.kind.value)
        if not f.cancelled:
            alarm = icalendar.Alarm()
            alarm.add("ACTION", "DISPLAY")
            alarm.add("DESCRIPTION", summary)
            alarm.add("TRIGGER", timedelta(0))
            event.add_component(alarm)
        calendar.add_component(event)
    calendar.add_missing_timezones(first_date=date(min(years), 1, 1), last_date=date(max(years) + 1, 1, 1))
    return calendar.to_ical()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interviews", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/calsync-bench.ics"))
    args = parser.parse_args()

    items = interviews(args.interviews)
    began = time.perf_counter()
    followups = plan_followups(items)
    planned = time.perf_counter() - began
    print(f"planned {len(followups):,} follow-ups of {len(items):,} interviews in {planned:.2f} s")

    templates = Templates()
    gc.collect()
    began = time.perf_counter()
    data = render_calendar(followups, templates=templates)
    ours = time.perf_counter() - began
    args.out.write_bytes(data)
    print(f"render_calendar:           {ours:6.2f} s  ({len(data) / 1e6:.1f} MB written to {args.out})")
    del data

    def decorate(component, followup) -> None:
        pass

    gc.collect()
    began = time.perf_counter()
    render_calendar(followups, templates=templates, decorate=decorate)
    decorated = time.perf_counter() - began
    print(f"render_calendar, decorate: {decorated:6.2f} s")

    texts = [(templates.summary(f), compose_description(f, templates.text(f))) for f in followups]
    gc.collect()
    began = time.perf_counter()
    baseline_data = icalendar_alone(followups, texts)
    baseline = time.perf_counter() - began
    print(f"icalendar alone:           {baseline:6.2f} s  ({len(baseline_data) / 1e6:.1f} MB)")
    del baseline_data, texts
    print(f"ratio: {ours / baseline:.2f} (with decorate {decorated / baseline:.2f}; goal <= 1.5)")

    gc.collect()
    tracemalloc.start()
    data = render_calendar(followups, templates=templates)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"render_calendar peak traced memory: {peak / 2**20:.0f} MiB (goal < 200 MB), "
        f"output {len(data) / 2**20:.0f} MiB"
    )
    print(f"process peak RSS (all of the above): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
