"""The words of every reminder: SUMMARY and DESCRIPTION per (kind, medium), overridable by the user.

Where a text comes from
    For a follow-up of kind ``K`` by medium ``M`` (``email`` or ``phone``; the closing checklist has none), the
    first that exists wins: ``K.M.txt`` in the user's folder (config ``templates = "dir"``), ``K.txt`` there, then
    calsync's own ``K.M`` and ``K``. Kinds: ``closing``, ``thank_you``, ``check_in``, ``retry``,
    ``feedback_request``. Any other ``*.txt`` in the folder is an error (a typo would silently do nothing).

The file format
    Optional header lines first, then a blank line, then the body::

        SUMMARY: Check in with $name by email — $title
        SUBJECT: Following up on the $role interview

        Notes for you, shown in the reminder.
        --- draft ---
        The message itself: the email body (also put in the mailto: link) or the call script.

    ``SUMMARY`` is the reminder's title, ``SUBJECT`` the email subject. A header the file leaves out keeps
    calsync's own; a file without headers replaces only the body. Without a ``--- draft ---`` line, the whole
    body is the notes and there is no draft.

Placeholders
    ``string.Template`` syntax: ``$name`` or ``${name}``; ``$$`` is a literal ``$``. Every name in
    :data:`VARIABLES` is available (with its meaning there); any other is an error, reported when the folder is
    loaded. Runs of blank lines left by empty values collapse to one.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote

from calsync.errors import InputError, UserError
from calsync.model import FollowUp, Kind, Medium

TEMPLATE_MAX_BYTES = 1024 * 1024  # a template is a few lines

#: Every placeholder a template may use, with what it holds.
VARIABLES: dict[str, str] = {
    "name": 'the recipient\'s full name ("the hiring team" when nobody is listed)',
    "first_name": "the recipient's first name",
    "email": "the recipient's email address, or empty",
    "phone": "the recipient's phone number as written, or empty",
    "company": "the company",
    "role": "the role",
    "title": 'the company and role, "Acme Corp, Staff Engineer"',
    "interview_id": "the interview's id in your file",
    "interview_date": 'the interview\'s day in its zone, "Friday, November 20"',
    "interview_end": 'the interview\'s end time in its zone, "15:00"',
    "interviewers": 'every interviewer, "Dana Smith and Lee Park"',
    "timeline": "what they said about the timeline, verbatim, or empty",
    "due": 'when this follow-up is due, in its zone, "Monday, November 30, 10:00 (America/New_York)"',
    "deadline": 'the decision date, "Friday, November 27, 2026"',
    "deadline_sentence": "one sentence on the decision date, saying when it was assumed",
    "approval_sentence": "one sentence on whether they welcomed a follow-up",
    "requested": "what they asked you to send, one '- item' per line, or empty",
    "requested_inline": 'the same in one phrase, "portfolio link and two references", or empty',
    "requested_block": "a short paragraph for an email draft listing what they asked for, or empty",
    "requested_note": "a note for you listing what they asked you to send, or empty",
    "medium": "email or phone (empty for the closing checklist)",
    "attempt": "the retry number, 1 for the first retry (0 otherwise)",
    "my_name": 'your name (config [me] name), or "$my_name" when the config has none',
    "my_email": "your email address (config [me] email), or empty",
    "signature": "your sign-off: your name, then your signature lines (config [me]), or empty",
    "notes": "the interview's notes and the notes of its events so far, one per line, or empty",
}

DRAFT_MARKER = "--- draft ---"
HEADERS = ("SUMMARY", "SUBJECT")

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# --- calsync's own texts --------------------------------------------------------------------------------------

_CLOSING = """\
SUMMARY: Before your $company interview: closing questions

Keep these for the last minutes of the interview (it ends at $interview_end):
- Summarise your fit in two sentences: what they need, and where you have done it.
- Ask: "Is there anything in my background that makes you hesitate?"
- Ask about the next steps and the decision timeline.
- Ask whether you may follow up if you haven't heard by then, and whether they prefer phone or email.
Interviewers: $interviewers
"""

_THANK_YOU_EMAIL = """\
SUMMARY: Thank-you note to $name — $title
SUBJECT: Thank you — $role interview

Send a short thank-you today, while the conversation is fresh. Fill in the line in brackets.
--- draft ---
Hi $first_name,

Thank you for taking the time to talk with me on $interview_date. I enjoyed learning more about the $role \
role, and the conversation made me even more interested in joining $company.

[One sentence on your fit: something they need that you have done.]
$requested_block
Best regards,
"""

_THANK_YOU_PHONE = """\
SUMMARY: Thank-you call to $name — $title

A short call: thank them, one line on fit, and say you'll send what they asked for.
$requested_note
--- draft ---
"Hi $first_name, it's $my_name. I just wanted to thank you for the interview on $interview_date. \
I really enjoyed it, and I'm even more interested in the $role role. [One sentence on your fit.]"
"""

_CHECK_IN_EMAIL = """\
SUMMARY: Check in with $name by email — $title
SUBJECT: Following up — $role interview

The decision date has passed. $deadline_sentence
$approval_sentence
One short, friendly message: don't push, they may simply need more time.
--- draft ---
Hi $first_name,

I hope you're well. I'm following up on my interview for the $role role on $interview_date. I'm still very \
interested in joining $company, and I'd be glad to hear about any update on the timeline.

Thank you again for your time.

Best regards,
"""

_CHECK_IN_PHONE = """\
SUMMARY: Check in with $name by phone — $title

The decision date has passed. $deadline_sentence
$approval_sentence
Keep it short and friendly: don't push, they may simply need more time.
--- draft ---
"Hi $first_name, it's $my_name. I interviewed for the $role role on $interview_date. I'm calling to \
check in: I'm still very interested, and I wondered whether there's any update on the timeline."
"""

_RETRY_EMAIL = """\
SUMMARY: Retry: check in with $name by email — $title
SUBJECT: Re: Following up — $role interview

No answer to your check-in. This is the last try: if they still don't reply, let it go and put your energy \
into other opportunities.
$approval_sentence
--- draft ---
Hi $first_name,

I wanted to follow up once more on my interview for the $role role. I'm still very interested in $company. \
If there is any news on the decision, I'd be glad to hear it.

Best regards,
"""

_RETRY_PHONE = """\
SUMMARY: Retry: check in with $name by phone — $title

No answer to your check-in. This is the last try: if they still don't reply, let it go and put your energy \
into other opportunities.
$approval_sentence
--- draft ---
"Hi $first_name, it's $my_name again, about the $role role. I'm still very interested, and I'd be glad \
to hear if there's any news on the decision."
"""

_FEEDBACK_EMAIL = """\
SUMMARY: Ask $name for feedback — $title
SUBJECT: Thank you — and a request for feedback

They decided not to move forward. A polite request for feedback helps with the next interviews; thank them, \
don't argue the decision.
--- draft ---
Hi $first_name,

Thank you for letting me know, and for the time you and the team spent with me. If you have a moment, I'd \
really appreciate any feedback on my interviews: what would have made me a stronger candidate for the $role \
role?

I enjoyed meeting the team, and I'd be glad to be considered for future openings at $company.

Best regards,
"""

_FEEDBACK_PHONE = """\
SUMMARY: Ask $name for feedback by phone — $title

They decided not to move forward. A polite request for feedback helps with the next interviews; thank them, \
don't argue the decision.
--- draft ---
"Hi $first_name, it's $my_name. Thank you for letting me know about the $role role. If you have a minute, \
I'd really appreciate any feedback: what would have made me a stronger candidate?"
"""

#: calsync's own templates, by file stem. ``K`` alone is the fallback for any medium.
DEFAULTS: dict[str, str] = {
    "closing": _CLOSING,
    "thank_you": _THANK_YOU_EMAIL,
    "thank_you.email": _THANK_YOU_EMAIL,
    "thank_you.phone": _THANK_YOU_PHONE,
    "check_in": _CHECK_IN_EMAIL,
    "check_in.email": _CHECK_IN_EMAIL,
    "check_in.phone": _CHECK_IN_PHONE,
    "retry": _RETRY_EMAIL,
    "retry.email": _RETRY_EMAIL,
    "retry.phone": _RETRY_PHONE,
    "feedback_request": _FEEDBACK_EMAIL,
    "feedback_request.email": _FEEDBACK_EMAIL,
    "feedback_request.phone": _FEEDBACK_PHONE,
}

_STEMS = frozenset(
    [kind.value for kind in Kind] + [f"{kind.value}.{medium.value}" for kind in Kind for medium in Medium]
)


@dataclass(frozen=True)
class Me:
    """The user, from the config's ``[me]``: who signs the drafts."""

    name: str | None = None
    email: str | None = None
    signature: str | None = None

    @property
    def signoff(self) -> str:
        """What ends every draft: the name, then the signature lines (which may repeat the name: said once)."""
        lines = [self.name] if self.name else []
        for line in (self.signature or "").strip().splitlines():
            if line.strip() != (self.name or "").strip():
                lines.append(line.rstrip())
        return "\n".join(lines)


@dataclass(frozen=True)
class Template:
    """One parsed template file: headers (None: not given) and body parts."""

    origin: str
    summary: string.Template | None
    subject: string.Template | None
    notes: string.Template
    draft: string.Template | None
    signed: bool = False  # the draft places $signature itself


@dataclass(frozen=True)
class Text:
    """A follow-up's words, filled in."""

    summary: str
    subject: str
    notes: str
    draft: str


def parse_template(text: str, origin: str) -> Template:
    """Split a template file into headers and body, and check every placeholder.

    :raises InputError: ``origin: unknown placeholder $x`` or an invalid ``$``.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    headers: dict[str, str] = {}
    index = 0
    while index < len(lines):
        match = re.match(r"(?i)\s*(SUMMARY|SUBJECT)\s*:(.*)$", lines[index])
        if not match:
            break
        headers[match.group(1).upper()] = match.group(2).strip()
        index += 1
    if headers and index < len(lines) and not lines[index].strip():
        index += 1
    body = "\n".join(lines[index:])
    marker = re.search(rf"^{re.escape(DRAFT_MARKER)}[ \t]*$", body, re.MULTILINE)
    notes, draft = (body[: marker.start()], body[marker.end() + 1 :]) if marker else (body, None)

    def compile_(source: str) -> string.Template:
        template = string.Template(source)
        for match in template.pattern.finditer(source):
            name = match.group("named") or match.group("braced")
            if name is not None and name not in VARIABLES:
                raise InputError(f"unknown placeholder ${name}", origin)
            if match.group("invalid") is not None:
                line = source.count("\n", 0, match.start("invalid")) + 1
                snippet = source[match.start("invalid") :].split("\n", 1)[0][:20]
                raise InputError(f"invalid placeholder {snippet!r} in line {line} (write $$ for a $)", origin)
        return template

    return Template(
        origin=origin,
        summary=compile_(headers["SUMMARY"]) if "SUMMARY" in headers else None,
        subject=compile_(headers["SUBJECT"]) if "SUBJECT" in headers else None,
        notes=compile_(notes),
        draft=compile_(draft) if draft is not None else None,
        signed=draft is not None and re.search(r"\$\{?signature\b", draft) is not None,
    )


def format_day(day: date, *, year: bool = False) -> str:
    """``Friday, November 20`` (with ``, 2026`` when ``year``), in English whatever the locale."""
    text = f"{_DAYS[day.weekday()]}, {_MONTHS[day.month - 1]} {day.day}"
    return f"{text}, {day.year}" if year else text


def _join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _zone_name(moment: datetime) -> str:
    return getattr(moment.tzinfo, "key", None) or moment.tzname() or "UTC"


def variables(followup: FollowUp, me: Me | None = None) -> dict[str, str]:
    """The values of :data:`VARIABLES` for one follow-up, signed by ``me``."""
    me = me or Me()
    iv = followup.interview
    person = followup.recipient
    name = person.name if person else "the hiring team"
    first = name.split()[0] if person and name.split() else name
    start = iv.start.astimezone(iv.timezone)
    end = iv.end.astimezone(iv.timezone)
    due = followup.due
    requested = [item for item in iv.requested if item.strip()]
    if followup.assumed:
        deadline_sentence = (
            f"They gave no decision date, so calsync assumed {format_day(followup.deadline, year=True)}."
        )
    else:
        deadline_sentence = f"They said they would decide by {format_day(followup.deadline, year=True)}."
    if iv.approved is True:
        approval = "They welcomed a follow-up when you asked."
    elif iv.approved is False:
        approval = "They asked you not to follow up: think twice before you do."
    else:
        approval = "You don't know whether they welcome a follow-up: keep it light."
    block = ""
    if requested:
        block = "\nAs promised, here is what you asked for:\n" + "\n".join(f"- {r}" for r in requested) + "\n"
    return {
        "name": name,
        "first_name": first,
        "email": (person.email or "") if person else "",
        "phone": (person.phone or "") if person else "",
        "company": iv.company,
        "role": iv.role,
        "title": iv.title,
        "interview_id": iv.id,
        "interview_date": format_day(start.date()),
        "interview_end": f"{end:%H:%M}",
        "interviewers": _join_names([p.name for p in iv.interviewers]),
        "timeline": iv.timeline or "",
        "due": f"{format_day(due.date(), year=True)}, {due:%H:%M} ({_zone_name(due)})",
        "deadline": format_day(followup.deadline, year=True),
        "deadline_sentence": deadline_sentence,
        "approval_sentence": approval,
        "requested": "\n".join(f"- {r}" for r in requested),
        "requested_inline": _join_names(requested),
        "requested_block": block,
        "requested_note": ("They asked you to send:\n" + "\n".join(f"- {r}" for r in requested)) if requested else "",
        "medium": followup.medium.value if followup.medium else "",
        "attempt": str(followup.attempt),
        "my_name": me.name or "[your name]",
        "my_email": me.email or "",
        "signature": me.signoff,
        "notes": "\n".join(_notes(followup)),
    }


def _notes(followup: FollowUp) -> list[str]:
    """The interview's own notes, then those of the events that shaped this follow-up."""
    notes = [followup.interview.notes.strip()] if followup.interview.notes and followup.interview.notes.strip() else []
    return notes + [note.strip() for note in followup.notes if note.strip()]


def _tidy(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class Templates:
    """calsync's texts, with the user's files in ``folder`` taking precedence.

    :raises InputError: a file in ``folder`` has an unknown name or a bad placeholder.
    :raises UserError: ``folder`` is not a readable folder.
    """

    def __init__(self, folder: Path | None = None, me: Me | None = None) -> None:
        self.folder = Path(folder).expanduser() if folder is not None else None
        self.me = me or Me()
        self._user: dict[str, Template] = {}
        self._texts: dict[str, str] = {}  # the user's files as read, for cache_key
        self._own = {stem: parse_template(text, f"<calsync {stem}>") for stem, text in DEFAULTS.items()}
        if self.folder is not None:
            self._load(self.folder)

    def _load(self, folder: Path) -> None:
        if not folder.is_dir():
            raise UserError(f"{folder}: the templates folder does not exist")
        for path in sorted(folder.glob("*.txt")):
            stem = path.name[: -len(".txt")]
            if stem not in _STEMS:
                known = ", ".join(sorted(_STEMS))
                raise InputError(f"unknown template name {stem!r} (known: {known})", path)
            from calsync.files import read_regular

            try:
                # A regular file of a readable size only: a FIFO there must not hang the run.
                text = read_regular(path, TEMPLATE_MAX_BYTES).decode("utf-8-sig")
            except OSError as exc:
                raise InputError(f"cannot read the template: {exc.strerror or exc}", path) from None
            except UnicodeDecodeError as exc:
                raise InputError(f"cannot read the template: not UTF-8 text (byte {exc.start})", path) from None
            self._user[stem] = parse_template(text, str(path))
            self._texts[stem] = text

    def cache_key(self) -> str:
        """Everything of the user's that the words depend on: their template files and ``[me]`` (calsync's own
        templates are code, covered by calsync's version)."""
        return repr((sorted(self._texts.items()), self.me))

    def _candidates(self, followup: FollowUp) -> list[Template]:
        kind = followup.kind.value
        stems = [f"{kind}.{followup.medium.value}", kind] if followup.medium else [kind]
        found = [self._user[s] for s in stems if s in self._user]
        found += [self._own[s] for s in stems if s in self._own]
        return found

    def variables(self, followup: FollowUp) -> dict[str, str]:
        return variables(followup, self.me)

    def text(self, followup: FollowUp, values: dict[str, str] | None = None) -> Text:
        """Every part of the follow-up's words, filled in; the draft ends with the user's sign-off."""
        values = values if values is not None else self.variables(followup)
        candidates = self._candidates(followup)
        body = candidates[0]
        summary = next((t.summary for t in candidates if t.summary is not None), None)
        subject = next((t.subject for t in candidates if t.subject is not None), None)
        return Text(
            summary=" ".join(summary.substitute(values).split()) if summary else "",
            subject=" ".join(subject.substitute(values).split()) if subject else "",
            notes=_tidy(body.notes.substitute(values)),
            draft=_signed(_tidy(body.draft.substitute(values)), body, values) if body.draft is not None else "",
        )

    def draft(self, followup: FollowUp) -> Draft:
        """The ready-to-send message (or call script) and its mailto:/tel: link."""
        return draft_of(followup, self.text(followup))

    def summary(self, followup: FollowUp) -> str:
        """The reminder's title: what to do, for whom."""
        return self.text(followup).summary

    def description(self, followup: FollowUp) -> str:
        """The reminder's body: notes, contact, the draft and a mailto:/tel: link."""
        return compose_description(followup, self.text(followup))


def _signed(draft: str, template: Template, values: dict[str, str]) -> str:
    if not draft or template.signed or not values["signature"]:
        return draft
    # After a closing ("Best regards,") the name comes on the next line; after a call script, a line apart.
    return f"{draft}\n{values['signature']}" if draft.endswith(",") else f"{draft}\n\n{values['signature']}"


def mailto_link(address: str, subject: str, body: str) -> str:
    """``mailto:`` with subject and body percent-encoded (RFC 6068: line breaks as %0D%0A)."""
    query = f"subject={quote(subject, safe='')}&body={quote(body.replace(chr(10), chr(13) + chr(10)), safe='')}"
    return f"mailto:{quote(address, safe='@')}?{query}"


def tel_link(phone: str) -> str | None:
    """``tel:`` with digits and a leading + only; None when the number has no digits."""
    digits = "".join(ch for ch in phone if ch.isdigit() and ch.isascii())
    if not digits:
        return None
    return f"tel:{'+' if phone.strip().startswith('+') else ''}{digits}"


def contact_line(followup: FollowUp) -> str:
    """``Dana Smith, dana@acme.example, +1 312 555 0100``: who to write to or call."""
    person = followup.recipient
    if person is None:
        return ""
    return ", ".join(part for part in (person.name, person.email, person.phone) if part)


@dataclass(frozen=True)
class Draft:
    """What to send and how: for email the To line, subject, body and a mailto: link; for a call the number, the
    script and a tel: link. ``link`` is None when the address or number is missing."""

    medium: Medium | None
    to: str
    subject: str
    body: str
    link: str | None
    address: str = ""  # the email address or phone number as written

    def text(self) -> str:
        """The draft as a person reads it."""
        if self.medium is Medium.EMAIL:
            head = f"To: {self.to}" + ("" if self.address else " (no email address on file)")
            return f"{head}\nSubject: {self.subject}\n\n{self.body}".rstrip() + "\n"
        if self.medium is Medium.PHONE:
            head = f"Call {self.to}: {self.address}" if self.address else f"Call {self.to} (no phone number on file)"
            return f"{head}\n\n{self.body}".rstrip() + "\n"
        return self.body.rstrip() + "\n"


def draft_of(followup: FollowUp, text: Text) -> Draft:
    person = followup.recipient
    if followup.medium is Medium.EMAIL:
        address = (person.email or "") if person else ""
        who = f"{person.name} <{address}>" if person and address else (person.name if person else "")
        link = mailto_link(address, text.subject, text.draft) if address else None
        return Draft(followup.medium, who, text.subject, text.draft, link, address)
    if followup.medium is Medium.PHONE:
        phone = (person.phone or "") if person else ""
        link = tel_link(phone) if phone else None
        return Draft(followup.medium, person.name if person else "them", "", text.draft, link, phone)
    return Draft(None, "", "", text.draft, None)


def item_link(followup: FollowUp, text: Text) -> str | None:
    """The mailto:/tel: link for the item's URL property (phone clients show it as a link)."""
    return draft_of(followup, text).link


def compose_description(followup: FollowUp, text: Text) -> str:
    """Notes (the template's, then the interview's and its events'), then for email the draft and a mailto: link,
    for phone the number and the call script."""
    parts = [text.notes] if text.notes else []
    notes = _notes(followup)
    if notes:
        parts.append("Notes:\n" + "\n".join(f"- {note}" for note in notes))
    person = followup.recipient
    if followup.medium is Medium.EMAIL:
        address = (person.email or "") if person else ""
        who = f"{person.name} <{address}>" if person and address else (person.name if person else "")
        header = f"To: {who}" if address else f"To: {who} (no email address on file)"
        parts.append(f"{header}\nSubject: {text.subject}")
        if text.draft:
            parts.append(text.draft)
        parts.append(f"Send it: {mailto_link(address, text.subject, text.draft)}")
    elif followup.medium is Medium.PHONE:
        link = tel_link(person.phone or "") if person else None
        name = person.name if person else "them"
        parts.append(f"Call {name}: {link}" if link else f"Call {name} (no phone number on file)")
        if text.draft:
            parts.append(text.draft)
    elif text.draft:
        parts.append(text.draft)
    return "\n\n".join(parts)
