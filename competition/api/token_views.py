"""A person's API tokens, on the account's pages (any role): the list with each token's access
and state, a new token (its secret shown once), and revoking one after a confirmation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, url_for

from competition.access import current_person, signed_in
from competition.api import tokens
from competition.api.models import ApiToken
from competition.api.token_forms import RevokeForm, token_form
from competition.berlin import BERLIN, berlin_to_utc
from competition.forms import attempt
from competition.i18n import gettext as _

bp = Blueprint("api_tokens", __name__, url_prefix="/account/api-tokens")


@dataclass(frozen=True)
class TokenRow:
    token: ApiToken
    state: tokens.TokenState
    access: list[tuple[str, str]]


def _row(token: ApiToken) -> TokenRow:
    return TokenRow(token, tokens.state_of(token, g.now), tokens.access_in_words(token))


def _today() -> dt.date:
    return g.now.astimezone(BERLIN).date()


def _expiry(day: dt.date | None) -> dt.datetime:
    """A token expires at the start of its day (00:00 in Berlin)."""
    assert day is not None  # the form refuses an empty day
    return berlin_to_utc(dt.datetime.combine(day, dt.time()))


@bp.route("")
@signed_in
def list_tokens():  # type: ignore[no-untyped-def]
    rows = [_row(token) for token in tokens.list_tokens(current_person())]
    return render_template("api/tokens.html", rows=rows)


@bp.route("/new", methods=["GET", "POST"])
@signed_in
def new_token():  # type: ignore[no-untyped-def]
    person = current_person()
    form = token_form(tokens.areas_for(person))
    if not form.is_submitted():
        form.expires_on.data = _today() + dt.timedelta(days=tokens.DEFAULT_DAYS)
    created = attempt(
        form,
        lambda: tokens.create_token(
            person,
            name=form.name.data or "",
            scopes=form.chosen_scopes(),
            expires_at=_expiry(form.expires_on.data),
            now=g.now,
        ),
    )
    if created.done and created.result is not None:
        # The secret goes out in this answer and nowhere else (not in the session cookie, not
        # in a page a browser or proxy may keep): it is not shown again.
        response = make_response(
            render_template(
                "api/token_created.html",
                row=_row(created.result.row),
                secret=created.result.secret,
            )
        )
        response.headers["Cache-Control"] = "no-store"
        return response
    today = _today()
    return render_template(
        "api/token_new.html",
        form=form,
        earliest=today + dt.timedelta(days=1),
        latest=today + dt.timedelta(days=tokens.MAX_DAYS),
    ), created.status


@bp.route("/<int:token_id>/revoke", methods=["GET", "POST"])
@signed_in
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    person = current_person()
    token = tokens.find_token(person, token_id)
    if token is None:
        abort(404)
    name = token.name
    form = RevokeForm()
    revoked = attempt(form, lambda: tokens.revoke_token(person, token, now=g.now))
    if revoked.done:
        flash(
            _(
                "The token “%(name)s” is revoked: programs using it are refused from now on.",
                name=name,
            ),
            "success",
        )
        return redirect(url_for(".list_tokens"))
    return render_template("api/token_revoke.html", form=form, row=_row(token)), revoked.status
