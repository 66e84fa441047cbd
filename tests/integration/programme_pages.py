"""Programmes set up the way people set them up: every step is a request to the pages.

The programme acceptance tests (``test_programmes.py``) take each programme of the family from an
empty system to a submitted proposal and a review, as its officer, an applicant and a juror would,
with nothing made by a factory except the officers' accounts. The steps here post the forms the
pages show, with the CSRF token of the page, and fail with the page's own message at the field
when a step is refused, so a failing acceptance test says what an officer would have read.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from competition.accounts.models import Role
from competition.berlin import BERLIN
from competition.extensions import db
from competition.notifications.models import Notification
from tests.conftest import Browser
from tests.factories import PASSWORD, make_user

UTC = dt.UTC


def text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def errors_of(response) -> str:  # type: ignore[no-untyped-def]
    """Every message a refused form shows at its fields, for an assertion's explanation."""
    page = response.get_data(as_text=True)
    found = re.findall(r'id="[^"]*-error"[^>]*>(.*?)</', page, re.S)
    flashes = re.findall(r'class="[^"]*(?:flash|alert|error)[^"]*"[^>]*>(.*?)</', page, re.S)
    return " | ".join(html.unescape(m.strip()) for m in [*found, *flashes] if m.strip())


def visible(page: str) -> str:
    """The words of a page's main part, for an assertion's explanation."""
    main = page[page.find("<main") :]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", main)).split())


def expect_redirect(response, what: str) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code in (302, 303), (
        f"{what}: {response.status_code} {errors_of(response) or text(response)[:2000]}"
    )
    return str(response.location)


def number_in(location: str, pattern: str) -> int:
    match = re.search(pattern, location)
    assert match, f"{pattern!r} not in {location!r}"
    return int(match.group(1))


def berlin(moment: dt.datetime) -> str:
    """How a person types a time into the set-up forms: Berlin time, minutes."""
    return moment.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


def form_value(page: str, action: str, name: str) -> str:
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert form, f"the page has no form posting to {action}: {visible(page)[:3000]}"
    value = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', form.group(1))
    assert value, f"the form posting to {action} has no field {name}"
    return value.group(1)


def link_in_mail(app, address: str, template: str, prefix: str) -> str:  # type: ignore[no-untyped-def]
    """The site-relative link starting with ``prefix`` in the newest such mail to ``address``."""
    with app.app_context():
        body = db.session.scalar(
            sa.select(Notification.body_text)
            .where(Notification.to_address == address.lower(), Notification.template == template)
            .order_by(Notification.id.desc())
            .limit(1)
        )
    assert body, f"no {template} mail to {address}"
    match = re.search(rf"https?://[^/\s]+({re.escape(prefix)}\S+)", body)
    assert match, f"no {prefix} link in the mail:\n{body}"
    return match.group(1)


def mail_templates(app, address: str) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(Notification.template)
                .where(Notification.to_address == address.lower())
                .order_by(Notification.id)
            )
        )


def log_in(app, email: str, password: str = PASSWORD, language: str = "de") -> Browser:  # type: ignore[no-untyped-def]
    """Logs in and speaks ``language``: the programmes' people work in German."""
    browser = Browser(app.test_client())
    expect_redirect(browser.login(email, password), f"log in as {email}")
    expect_redirect(browser.submit("/language", {"locale": language}, page="/"), "choose German")
    return browser


# --- the officer ------------------------------------------------------------------------------


def officer_account(app, email: str) -> Browser:  # type: ignore[no-untyped-def]
    """The one thing not done through the pages: an administrator made the officer's account."""
    with app.app_context():
        make_user(email=email, name=email.split("@")[0].title(), roles=(Role.OFFICER,))
        db.session.commit()
    return log_in(app, email)


@dataclass
class Officer:
    app: Any
    browser: Browser

    def submit(self, url: str, data: dict[str, Any], what: str, page: str | None = None) -> str:
        return expect_redirect(self.browser.submit(url, data, page=page), what)

    def programme(self, **fields: Any) -> int:
        data = {"slug": "", "description": "", **fields}
        location = self.submit("/programmes/new", data, "create the programme")
        return number_in(location, r"/programmes/(\d+)")

    def call(self, programme_id: int, **fields: Any) -> int:
        data = {"description": "", **fields}
        location = self.submit(f"/programmes/{programme_id}/calls/new", data, "create a call")
        return number_in(location, r"#call-(\d+)")

    def edit(self, url: str, what: str, **fields: Any) -> None:
        """Changes some fields of an edit form, sending the others as the page shows them."""
        page = self.browser.get(url).get_data(as_text=True)
        self.submit(url, {**form_fields(page, url), **fields}, what)

    def edit_call(self, call_id: int, **fields: Any) -> None:
        self.edit(f"/calls/{call_id}/edit", "edit the call", **fields)

    def topic(
        self, programme_id: int, name_de: str, name_en: str, kind: str, parent: int | None = None
    ) -> int:
        data = {"name_de": name_de, "name_en": name_en, "kind": kind, "parent_id": parent or ""}
        location = self.submit(f"/programmes/{programme_id}/topics/new", data, f"add {name_en}")
        return number_in(location, r"#topic-(\d+)")

    def rules(
        self, call_id: int, stage_id: int, constraints: list[dict[str, str]], **fields: Any
    ) -> None:
        """Sets a stage's selection rules; ``constraints`` as rows (attribute, value, minimum,
        maximum)."""
        url = f"/calls/{call_id}/stages/{stage_id}/selection/rules"
        page = self.browser.get(url).get_data(as_text=True)
        data = {k: v for k, v in form_fields(page, url).items() if not k.startswith("constraints-")}
        for n, row in enumerate(constraints):
            for key in ("attribute", "value", "minimum", "maximum"):
                data[f"constraints-{n}-{key}"] = row.get(key, "")
        self.submit(url, {**data, **fields}, "save the selection rules")

    def slot(
        self, call_id: int, stage_id: int, starts: dt.datetime, minutes: int, **place: str
    ) -> Any:
        data = {
            "starts_at": berlin(starts),
            "ends_at": berlin(starts + dt.timedelta(minutes=minutes)),
            "room": place.get("room", ""),
            "video_url": place.get("video_url", ""),
        }
        url = f"/calls/{call_id}/stages/{stage_id}/hearing/slots"
        return self.browser.submit(url, data, page=f"/calls/{call_id}/stages/{stage_id}/hearing")

    def stage(self, call_id: int, **fields: Any) -> int:
        data = {
            "sections": "",
            "attachment_rules": "",
            "reviewers_per_proposal": "1",
            "max_load_per_juror": "10",
            "selection_target": "",
            **fields,
        }
        location = self.submit(f"/calls/{call_id}/stages/new", data, f"add {fields.get('name')}")
        return number_in(location, r"#stage-(\d+)")

    def criterion(self, stage_id: int, name: str, **fields: Any) -> None:
        data = {
            "name": name,
            "description": "",
            "weight": "1",
            "scale_min": "0",
            "scale_max": "5",
            "scale_step": "1",
            "threshold": "",
            **fields,
        }
        self.submit(f"/stages/{stage_id}/criteria/new", data, f"add the criterion {name}")

    def publish_call(self, call_id: int) -> None:
        page = f"/programmes/{self.programme_of(call_id)}"
        self.submit(f"/calls/{call_id}/state", {"action": "publish"}, "publish the call", page=page)

    def programme_of(self, call_id: int) -> int:
        location = self.browser.get(f"/calls/{call_id}/edit")
        match = re.search(r'href="/programmes/(\d+)"', location.get_data(as_text=True))
        assert match, "the call's page does not link its programme"
        return int(match.group(1))

    def invite_juror(self, call_id: int, name: str, email: str) -> None:
        data = {"invite-name": name, "invite-email": email}
        self.submit(f"/calls/{call_id}/jury", data, f"invite {email}")

    def assign(self, call_id: int, stage_id: int, proposal_id: int, juror_id: int) -> None:
        url = f"/calls/{call_id}/stages/{stage_id}/assignment/proposals/{proposal_id}"
        data = {"kind": "add", "juror_in": str(juror_id), "juror_out": "", "confirmed": "yes"}
        self.submit(url, data, "assign the juror")

    def release(self, call_id: int, stage_id: int) -> None:
        url = f"/calls/{call_id}/stages/{stage_id}/assignment/release"
        self.submit(url, {}, "release the assignment")


# --- the applicant ----------------------------------------------------------------------------


@dataclass
class Applicant:
    app: Any
    browser: Browser
    email: str
    proposal_id: int = 0
    members: dict[str, int] = field(default_factory=dict)

    @classmethod
    def register(cls, app, name: str, email: str) -> Applicant:  # type: ignore[no-untyped-def]
        """Registers on the site, confirms the address from the mail and logs in."""
        browser = Browser(app.test_client())
        browser.submit("/language", {"locale": "de"}, page="/")
        data = {"name": name, "email": email, "password": PASSWORD, "confirm": PASSWORD}
        response = browser.submit("/register", data)
        assert response.status_code == 200 and "Prüfen Sie Ihre E-Mails" in text(response), (
            errors_of(response)
        )
        browser.get(link_in_mail(app, email, "accounts/confirm_email", "/confirm/"))
        return cls(app, log_in(app, email), email)

    def post(self, url: str, data: dict[str, Any], what: str, **kw: Any):  # type: ignore[no-untyped-def]
        page = self.browser.get(self.editor).get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, "the editor has no form"
        return self.browser.client.post(url, data={**data, "csrf_token": token.group(1)}, **kw)

    @property
    def editor(self) -> str:
        return f"/proposals/{self.proposal_id}/edit"

    def topics_offered(self) -> dict[str, int]:
        """The topics the editor offers, by their name as the applicant reads it."""
        page = text(self.browser.get(self.editor))
        found = re.findall(
            r'name="topics" id="[^"]+" value="(\d+)"[^>]*> <label[^>]*>'
            r"(?:<span[^>]*>↳ </span>)?([^<]+)</label>",
            page,
        )
        return {name.strip(): int(topic) for topic, name in found}

    def checklist(self) -> str:
        """What the submit page says is still missing, or that the proposal is ready."""
        return visible(
            self.browser.get(f"/proposals/{self.proposal_id}/submit").get_data(as_text=True)
        )

    def start(self, call_id: int, acronym: str, title: str) -> int:
        location = expect_redirect(
            self.browser.submit(
                f"/calls/{call_id}/proposals",
                {"acronym": acronym, "title": title},
                page=f"/calls/{call_id}",
            ),
            "start a proposal",
        )
        self.proposal_id = number_in(location, r"/proposals/(\d+)")
        return self.proposal_id

    def general(self, acronym: str, title: str, abstract: str, topics: list[int]) -> None:
        data = {"acronym": acronym, "title": title, "abstract": abstract, "topics": topics}
        response = self.post(f"/proposals/{self.proposal_id}/general", data, "general")
        expect_redirect(response, "save the general part")

    def member(
        self, organisation: str, role: str, kind: str = "", state: str = "", **kw: Any
    ) -> int:
        data = {
            "organisation": organisation,
            "role": role,
            "new_kind": kind,
            "new_federal_state": state,
            "contact_name": kw.get("contact_name", ""),
            "contact_email": kw.get("contact_email", ""),
        }
        response = self.post(f"/proposals/{self.proposal_id}/members", data, "member")
        expect_redirect(response, f"add {organisation}")
        page = self.browser.get(self.editor).get_data(as_text=True)
        ids = re.findall(rf"/proposals/{self.proposal_id}/members/(\d+)/remove", page)
        self.members[organisation] = max(int(i) for i in ids if int(i) not in self.members.values())
        return self.members[organisation]

    def partners_file(self, name: str, content: bytes):  # type: ignore[no-untyped-def]
        """Uploads a file of partners; the editor's page with what was added and refused."""
        response = self.post(
            f"/proposals/{self.proposal_id}/members/import",
            {"partners-file": (io.BytesIO(content), name)},
            "partners",
            content_type="multipart/form-data",
        )
        page = self.browser.get(self.editor).get_data(as_text=True)
        for found in re.finditer(rf"/proposals/{self.proposal_id}/members/(\d+)/remove", page):
            member = int(found.group(1))
            if member not in self.members.values():
                self.members[f"member {member}"] = member
        return response

    def budget(self, cells: dict[str, str]) -> None:
        """``cells`` by field name, as the table names them (``public-m<member>-y<year>``…)."""
        page = self.browser.get(self.editor).get_data(as_text=True)
        action = f"/proposals/{self.proposal_id}/budget"
        data = {"base_revision": form_value(page, action, "base_revision"), **cells}
        expect_redirect(self.post(action, data, "budget"), "save the budget")

    def section(self, key: str, words: str) -> None:
        page = self.browser.get(self.editor).get_data(as_text=True)
        action = f"/proposals/{self.proposal_id}/sections/{key}"
        data = {"text": words, "base_revision": form_value(page, action, "base_revision")}
        expect_redirect(self.post(action, data, "section"), f"save the section {key}")

    def upload(self, kind: str, name: str, content: bytes) -> None:
        response = self.post(
            f"/proposals/{self.proposal_id}/attachments/{kind}",
            {"file": (io.BytesIO(content), name)},
            "upload",
            content_type="multipart/form-data",
        )
        expect_redirect(response, f"upload {name}")

    def submit(self) -> str:
        """Submits the proposal; the receipt page's code."""
        url = f"/proposals/{self.proposal_id}/submit"
        page = self.browser.get(url).get_data(as_text=True)
        key = form_value(page, url, "idempotency_key")
        location = expect_redirect(
            self.browser.submit(url, {"idempotency_key": key}), "submit the proposal"
        )
        receipt = text(self.browser.get(location))
        code = re.search(r"<title>\S+ (\S+-V\d+-[0-9A-F]+) ", receipt)
        assert code, receipt[:2000]
        return code.group(1)


# --- the juror --------------------------------------------------------------------------------


@dataclass
class Juror:
    app: Any
    browser: Browser
    email: str

    @classmethod
    def accept(cls, app, email: str, name: str, call_id: int) -> Juror:  # type: ignore[no-untyped-def]
        """Sets a password from the invitation mail, accepts the jury place and logs in."""
        link = link_in_mail(app, email, "accounts/invitation", "/invitations/")
        browser = Browser(app.test_client())
        data = {"name": name, "password": PASSWORD, "confirm": PASSWORD}
        expect_redirect(browser.submit(link, data), "accept the account invitation")
        browser = log_in(app, email)
        expect_redirect(
            browser.submit(f"/jury/calls/{call_id}/respond", {"answer": "accept"}, page="/jury"),
            "accept the jury place",
        )
        return cls(app, browser, email)

    def profile(self, affiliation_id: int | None, topic_ids: list[int], expertise: str) -> None:
        data = {
            "affiliation_id": str(affiliation_id or ""),
            "topic_ids": topic_ids,
            "max_load": "10",
            "expertise_text": expertise,
        }
        expect_redirect(self.browser.submit("/jury/profile", data), "save the profile")

    def bid(self, call_id: int, stage_id: int, proposal_id: int, level: str):  # type: ignore[no-untyped-def]
        url = f"/jury/calls/{call_id}/stages/{stage_id}/bids"
        return self.browser.submit(url, {f"bid_{proposal_id}": level, "q": "", "page": "1"})

    def declare_no_conflicts(self, call_id: int) -> None:
        url = f"/jury/calls/{call_id}/conflicts"
        expect_redirect(self.browser.submit(url, {"finish": "1"}), "send the declaration")

    def send_review(self, assignment_id: int, scores: dict[str, str], comment: str):  # type: ignore[no-untyped-def]
        url = f"/reviews/assignments/{assignment_id}"
        page = self.browser.get(url).get_data(as_text=True)
        data = {
            "base_revision": form_value(page, url, "base_revision"),
            "comment_for_applicant": comment,
            "comment_for_jury": "",
            "confidence": "4",
            "action": "submit",
            **scores,
        }
        return self.browser.submit(url, data)

    def review(self, assignment_id: int, scores: dict[str, str], comment: str) -> None:
        response = self.send_review(assignment_id, scores, comment)
        expect_redirect(response, "submit the review")


def juror_choice(officer: Officer, call_id: int, stage_id: int, proposal_id: int, name: str) -> int:
    """The juror's id as the assignment page offers it to the officer."""
    url = f"/calls/{call_id}/stages/{stage_id}/assignment/proposals/{proposal_id}"
    page = text(officer.browser.get(url))
    match = re.search(rf'<tr id="alternate-(\d+)"><td>{re.escape(name)}</td>', page)
    assert match, f"{name} is not offered on the assignment page: {visible(page)[:2000]}"
    return int(match.group(1))


def assignment_of(juror: Juror) -> int:
    """The juror's first assignment on the reviews page."""
    match = re.search(r'id="assignment-(\d+)"', text(juror.browser.get("/reviews")))
    assert match, "the juror has no assignment"
    return int(match.group(1))


def score_fields(page: str) -> list[str]:
    return re.findall(r'name="(score-\d+)"', page)


def form_fields(page: str, action: str) -> dict[str, Any]:
    """What the form posting to ``action`` would send as the page shows it: inputs with their
    values (checked boxes and radios only), selected options and text areas."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert form, f"the page has no form posting to {action}: {visible(page)[:2000]}"
    body = form.group(1)
    fields: dict[str, Any] = {}

    def attr(tag: str, name: str) -> str | None:
        found = re.search(rf'\b{name}="([^"]*)"', tag)
        return html.unescape(found.group(1)) if found else None

    for tag in re.findall(r"<input\b[^>]*>", body):
        name, kind = attr(tag, "name"), attr(tag, "type") or "text"
        if not name or kind in ("submit", "button", "file"):
            continue
        if kind in ("checkbox", "radio"):
            if re.search(r"\bchecked\b", tag):
                value = attr(tag, "value") or "y"
                if kind == "checkbox" and name in fields:
                    previous = fields[name]
                    fields[name] = [
                        *(previous if isinstance(previous, list) else [previous]),
                        value,
                    ]
                else:
                    fields[name] = value
            continue
        fields[name] = attr(tag, "value") or ""
    for name, options in re.findall(
        r'<select\b[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S
    ):
        chosen = re.findall(r'<option\b[^>]*value="([^"]*)"[^>]*\bselected\b', options)
        if chosen:
            fields[name] = [html.unescape(c) for c in chosen] if len(chosen) > 1 else chosen[0]
        else:
            first = re.search(r'<option\b[^>]*value="([^"]*)"', options)
            fields[name] = html.unescape(first.group(1)) if first else ""
    for name, value in re.findall(
        r'<textarea\b[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', body, re.S
    ):
        fields[name] = html.unescape(value).lstrip("\n")
    return fields
