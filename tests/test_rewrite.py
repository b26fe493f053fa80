"""Reading an item's summary from its text, without parsing it into objects (labels in every sync report)."""

from __future__ import annotations

import pytest

from calsync.render import render_item
from calsync.rewrite import summary_of
from tests.factories import followup


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        (b"SUMMARY:Retry: check in with Dana\r\n", "Retry: check in with Dana"),  # a colon in the value
        (b'SUMMARY;LANGUAGE=en;X="a:b":Call Lee\\, then\\; wait\r\n', "Call Lee, then; wait"),
        (b"UID:1\r\nsummary:lower case name\r\n", "lower case name"),
        (b"SUMMARY:folded acro\r\n ss lines\r\n", "folded across lines"),
        (b"UID:no summary\r\n", None),
    ],
)
def test_the_summary_as_a_reader_sees_it(text, summary):
    assert summary_of(text) == summary


def test_the_summary_of_a_rendered_item_is_the_one_icalendar_reads():
    item = render_item(followup(interview=None))
    assert summary_of(item.ical) == str(item.component["SUMMARY"])
