"""The reminder texts: calsync's defaults, the user's folder, placeholders and links."""

from __future__ import annotations

import locale
import re
import string
from datetime import date
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from factories import followup, interview

from calsync.errors import InputError, UserError
from calsync.model import Interviewer, Kind, Medium
from calsync.render import render_item
from calsync.templates import (
    DEFAULTS,
    VARIABLES,
    Templates,
    format_day,
    mailto_link,
    parse_template,
    tel_link,
    variables,
)


def every_followup():
    for kind in Kind:
        for medium in (Medium.EMAIL, Medium.PHONE):
            yield followup(kind, interview=interview(follow_up=medium))


def test_every_default_uses_known_placeholders_only() -> None:
    for stem, text in DEFAULTS.items():
        parsed = parse_template(text, stem)
        assert parsed.summary is not None, stem
        for template in (parsed.summary, parsed.subject, parsed.notes, parsed.draft):
            if template is not None:
                assert set(template.get_identifiers()) <= set(VARIABLES), stem


def test_every_kind_and_medium_has_words() -> None:
    templates = Templates()
    for f in every_followup():
        assert templates.summary(f).strip()
        assert templates.description(f).strip()
        assert "$" not in templates.summary(f) + templates.description(f)
    assert set(variables(followup(Kind.CHECK_IN))) == set(VARIABLES)


def test_user_file_for_kind_and_medium_wins(tmp_path) -> None:
    (tmp_path / "check_in.email.txt").write_text(
        "SUMMARY: Ping $first_name at $company\nSUBJECT: Checking in, $$5 coffee on me\n\n"
        "Deadline: $deadline\n--- draft ---\nHello $name!\n"
    )
    (tmp_path / "check_in.txt").write_text("SUMMARY: generic $name\n\nGeneric body\n")
    templates = Templates(tmp_path)
    email = followup(Kind.CHECK_IN)
    assert templates.summary(email) == "Ping Dana at Acme Corp"
    text = templates.description(email)
    assert text.startswith("Deadline: Friday, November 27, 2026")
    assert "Hello Dana Smith!" in text
    (link,) = re.findall(r"mailto:\S+", text)
    query = parse_qs(urlsplit(link).query)
    assert query["subject"] == ["Checking in, $5 coffee on me"]
    assert query["body"] == ["Hello Dana Smith!"]
    phone = followup(Kind.CHECK_IN, interview=interview(follow_up=Medium.PHONE))
    assert templates.summary(phone) == "generic Dana Smith"
    assert templates.description(phone).startswith("Generic body")
    # other kinds keep calsync's words
    assert templates.summary(followup(Kind.RETRY, attempt=1)).startswith("Retry: check in with Dana Smith")


def test_a_file_without_headers_keeps_our_summary(tmp_path) -> None:
    (tmp_path / "thank_you.txt").write_text("Just the notes for $first_name.\n")
    templates = Templates(tmp_path)
    f = followup(Kind.THANK_YOU)
    assert templates.summary(f) == "Thank-you note to Dana Smith — Acme Corp, Staff Engineer"
    assert templates.description(f).startswith("Just the notes for Dana.")
    # calsync's subject is kept too, with an empty draft
    (link,) = re.findall(r"mailto:\S+", templates.description(f))
    assert parse_qs(urlsplit(link).query)["subject"] == ["Thank you — Staff Engineer interview"]


def test_render_uses_the_user_templates(tmp_path) -> None:
    (tmp_path / "closing.txt").write_text("SUMMARY: Wrap up $company\n\n- my own checklist\n")
    item = render_item(followup(Kind.CLOSING), templates=Templates(tmp_path))
    assert str(item.component["SUMMARY"]) == "Wrap up Acme Corp"
    assert str(item.component["DESCRIPTION"]) == "- my own checklist"


def test_an_unknown_placeholder_is_named_with_the_file(tmp_path) -> None:
    path = tmp_path / "check_in.email.txt"
    path.write_text("SUMMARY: Check in with $nme\n\nbody\n")
    with pytest.raises(UserError) as caught:
        Templates(tmp_path)
    assert str(caught.value) == f"{path}: unknown placeholder $nme"
    path.write_text("Hello ${compny}\n")
    with pytest.raises(InputError, match=r"unknown placeholder \$compny"):
        Templates(tmp_path)


def test_a_lone_dollar_is_an_error_and_double_dollar_is_fine(tmp_path) -> None:
    path = tmp_path / "retry.txt"
    path.write_text("Pay $ 5\n")
    with pytest.raises(InputError, match=r"retry.txt: invalid placeholder .*\$\$"):
        Templates(tmp_path)
    path.write_text("Pay $$5\n")
    assert Templates(tmp_path).description(followup(Kind.RETRY, attempt=1)).startswith("Pay $5")


def test_unknown_file_names_and_missing_folders(tmp_path) -> None:
    (tmp_path / "check-in.txt").write_text("x")
    with pytest.raises(InputError, match="unknown template name 'check-in'"):
        Templates(tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        Templates(tmp_path / "nowhere")
    (tmp_path / "check-in.txt").unlink()
    (tmp_path / "notes.md").write_text("not a template")
    Templates(tmp_path)  # only *.txt files are templates


def test_variables_describe_the_situation() -> None:
    stated = variables(followup(Kind.CHECK_IN))
    assert stated["deadline_sentence"] == "They said they would decide by Friday, November 27, 2026."
    assumed = variables(followup(Kind.CHECK_IN, assumed=True))
    assert "assumed Friday, November 27, 2026" in assumed["deadline_sentence"]
    assert "welcomed" in stated["approval_sentence"]
    assert (
        "not to follow up"
        in variables(followup(Kind.CHECK_IN, interview=interview(approved=False)))["approval_sentence"]
    )
    assert stated["requested"] == "- portfolio link\n- two references"
    assert stated["requested_inline"] == "portfolio link and two references"
    assert stated["interview_date"] == "Friday, November 20"
    assert stated["due"] == "Monday, November 30, 2026, 10:00 (America/New_York)"
    nothing = variables(followup(Kind.THANK_YOU, interview=interview(requested=())))
    assert nothing["requested"] == nothing["requested_block"] == nothing["requested_note"] == ""
    closing = variables(followup(Kind.CLOSING))
    assert closing["name"] == "the hiring team" and closing["medium"] == ""


def test_requested_items_are_in_the_thank_you_for_both_media() -> None:
    templates = Templates()
    for medium in (Medium.EMAIL, Medium.PHONE):
        text = templates.description(followup(Kind.THANK_YOU, interview=interview(follow_up=medium)))
        assert "- portfolio link\n- two references" in text


def test_day_names_do_not_depend_on_the_locale() -> None:
    before = locale.setlocale(locale.LC_TIME)
    try:
        for name in ("de_DE.UTF-8", "fr_FR.UTF-8"):
            try:
                locale.setlocale(locale.LC_TIME, name)
                break
            except locale.Error:
                continue
        assert format_day(date(2026, 11, 27), year=True) == "Friday, November 27, 2026"
    finally:
        locale.setlocale(locale.LC_TIME, before)


def test_mailto_link_round_trips() -> None:
    body = "Hi Dana,\n\nThanks & regards; 100% sure? #1 = yes\nÇa va — très bien"
    link = mailto_link("dana+jobs@acme.example", "Re: café & more", body)
    parts = urlsplit(link)
    assert parts.scheme == "mailto"
    assert unquote(parts.path) == "dana+jobs@acme.example"
    query = parse_qs(parts.query, strict_parsing=True)
    assert query["subject"] == ["Re: café & more"]
    assert query["body"] == [body.replace("\n", "\r\n")]
    assert " " not in link and "\n" not in link


def test_tel_link_keeps_digits_and_a_leading_plus() -> None:
    assert tel_link("+1 (312) 555-0100") == "tel:+13125550100"
    assert tel_link("312.555.0100") == "tel:3125550100"
    assert tel_link("ask the recruiter") is None


def test_missing_contact_details_are_said() -> None:
    nobody = interview(interviewers=(Interviewer("Sam Lee", interview().timezone),))
    templates = Templates()
    email = templates.description(followup(Kind.CHECK_IN, interview=nobody))
    assert "no email address on file" in email
    phone = templates.description(followup(Kind.CHECK_IN, interview=nobody, medium=Medium.PHONE))
    assert "no phone number on file" in phone
    no_one = templates.summary(followup(Kind.CHECK_IN, interview=interview(interviewers=()), recipient=None))
    assert no_one == "Check in with the hiring team by email — Acme Corp, Staff Engineer"


def test_placeholder_syntax_is_string_template() -> None:
    assert string.Template("$a ${b}").get_identifiers() == ["a", "b"]
    parsed = parse_template("SUMMARY: $name\nSUBJECT: $role\n\nnotes\n--- draft ---\ndraft\n", "x")
    assert parsed.summary.template == "$name" and parsed.subject.template == "$role"
    assert parsed.notes.template == "notes\n" and parsed.draft.template == "draft\n"
