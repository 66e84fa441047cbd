"""Single sign-on pages: the way to the provider and back, linking an existing account, the
person's linked sign-ins, and the administrators' claim-to-role mappings. Every rule is in
``single_sign_on``."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from competition.access import current_person, public, roles_required, safe_next, signed_in
from competition.accounts import second_factor
from competition.accounts import single_sign_on as sso
from competition.accounts.models import Role
from competition.accounts.sso_models import SsoRoleMapping
from competition.accounts.tokens import TokenError
from competition.extensions import db
from competition.forms import attempt, perform
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l

bp = Blueprint("sso", __name__)

ROLE_LABELS = {
    Role.APPLICANT: _l("Applicant"),
    Role.JUROR: _l("Juror"),
    Role.OFFICER: _l("Officer"),
    Role.ADMIN: _l("Administrator"),
}


class ConfirmForm(FlaskForm):
    """Only the CSRF token."""


class LinkByPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Password of your account"), validators=[DataRequired(_l("Enter your password."))]
    )


class MappingForm(FlaskForm):
    provider = SelectField(_l("Provider"), choices=[])
    claim = StringField(
        _l("Claim"),
        validators=[DataRequired(_l("Enter the claim's name.")), Length(max=sso.CLAIM_LENGTH)],
    )
    value = StringField(
        _l("Value"),
        validators=[DataRequired(_l("Enter the value.")), Length(max=sso.VALUE_LENGTH)],
    )
    role = SelectField(
        _l("Role"), choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()]
    )


def _provider_or_404(name: str):  # type: ignore[no-untyped-def]
    provider = sso.find_provider(name)
    if provider is None:
        abort(404)
    return provider


def _client_address() -> str:
    return request.remote_addr or "unknown"


# --- signing in -------------------------------------------------------------------------------


@bp.route("/login/sso/<provider>")
@public
def start(provider: str):  # type: ignore[no-untyped-def]
    chosen = _provider_or_404(provider)
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    redirect_to_provider = sso.authorize_redirect(
        chosen, next_url=safe_next(request.args.get("next"))
    )
    if redirect_to_provider is None:
        return render_template(
            "accounts/sso_problem.html",
            provider=chosen,
            message=_(
                "%(provider)s cannot be reached at the moment. Please try again later, or log in "
                "with your password.",
                provider=chosen.title,
            ),
        ), 503
    return redirect_to_provider


@bp.route("/login/sso/<provider>/callback")
@public
def callback(provider: str):  # type: ignore[no-untyped-def]
    chosen = _provider_or_404(provider)
    next_url = safe_next(cookie_session.pop(sso.NEXT_KEY, None))
    answer = sso.receive_answer(chosen)
    if answer is None:
        return render_template(
            "accounts/sso_problem.html",
            provider=chosen,
            message=_(
                "The sign-in through %(provider)s could not be checked and was refused. Please "
                "try again.",
                provider=chosen.title,
            ),
        ), 400
    outcome = perform(lambda: sso.sign_in_with(answer, now=g.now))
    if outcome.error is not None:
        messages = [m for ms in outcome.error.errors.values() for m in ms]
        return render_template(
            "accounts/sso_problem.html", provider=chosen, message=" ".join(messages)
        ), 403
    result = outcome.result
    if isinstance(result, sso.LinkOffered):
        sso.offer_link(answer, result.user, now=g.now)
        return redirect(url_for(".link_account"))
    assert isinstance(result, sso.SignedIn)
    return _finish(result.user, answer=answer, next_url=next_url)


def _finish(user, *, answer: sso.ProviderAnswer, next_url: str | None):  # type: ignore[no-untyped-def]
    if second_factor.has_second_factor(user):
        second_factor.begin_pending(user, next_url=next_url, now=g.now)
        return redirect(url_for("accounts.second_step"))
    response = second_factor.finish_login(
        user, method=sso.METHOD_PREFIX + answer.provider, next_url=next_url
    )
    sso.remember_for_logout(answer)
    return response


# --- linking an existing account --------------------------------------------------------------


@bp.route("/login/sso/link", methods=["GET", "POST"])
@public
def link_account():  # type: ignore[no-untyped-def]
    pending = sso.pending_link(g.now)
    if pending is None:
        flash(_("Please sign in with the provider again: the time to link has run out."), "info")
        return redirect(url_for("accounts.login"))
    form = LinkByPasswordForm()
    linked = attempt(
        form,
        lambda: sso.link_by_password(
            pending, password=form.password.data, client_address=_client_address(), now=g.now
        ),
    )
    if linked.result is not None:
        sso.drop_pending_link()
        answer = sso.ProviderAnswer(
            provider=pending.provider.name,
            claims={"sub": pending.subject, **pending.claims},
            id_token=pending.id_token,
        )
        response = _finish(linked.result, answer=answer, next_url=None)
        # After the fresh cookie of signing in, which would drop it.
        flash(
            _(
                "Your account is linked: you can sign in with %(provider)s from now on.",
                provider=pending.provider.title,
            ),
            "success",
        )
        return response
    status = linked.status
    if getattr(linked.error, "throttled", False):
        status = 429
    return render_template(
        "accounts/sso_link.html", form=form, pending=pending, mail_form=ConfirmForm()
    ), status


@bp.route("/login/sso/link/mail", methods=["POST"])
@public
def mail_link():  # type: ignore[no-untyped-def]
    pending = sso.pending_link(g.now)
    if pending is None:
        flash(_("Please sign in with the provider again: the time to link has run out."), "info")
        return redirect(url_for("accounts.login"))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(lambda: sso.mail_link(pending, now=g.now))
    sso.drop_pending_link()
    return render_template("accounts/check_mail.html", email=pending.email, sso_link=True)


@bp.route("/login/sso/link/<token>", methods=["GET", "POST"])
@public
def link_from_mail(token: str):  # type: ignore[no-untyped-def]
    try:
        link = sso.read_mailed_link(token)
    except TokenError as error:
        return render_template(
            "accounts/link_problem.html",
            message=str(error),
            expired=error.expired,
            again_url=url_for("accounts.login"),
        ), 400
    form = ConfirmForm()
    linked = attempt(form, lambda: sso.link_by_mail(link, now=g.now))
    if linked.done:
        flash(
            _(
                "Your account is linked. Sign in with %(provider)s now.",
                provider=link.provider.title,
            ),
            "success",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/sso_link_mailed.html", form=form, link=link), linked.status


# --- the person's sign-ins --------------------------------------------------------------------


@bp.route("/account/sign-ins")
@signed_in
def list_identities():  # type: ignore[no-untyped-def]
    person = current_person()
    titles = {p.name: p.title for p in sso.providers()}
    return render_template(
        "accounts/sso_identities.html",
        identities=sso.list_identities(person),
        titles=titles,
        has_password=bool(person.password_hash),
    )


@bp.route("/account/sign-ins/<int:identity_id>/unlink", methods=["GET", "POST"])
@signed_in
def unlink_identity(identity_id: int):  # type: ignore[no-untyped-def]
    person = current_person()
    identity = sso.find_identity_of(person, identity_id)
    if identity is None:
        abort(404)
    provider = sso.find_provider(identity.provider)
    title = provider.title if provider else identity.provider
    form = ConfirmForm()
    unlinked = attempt(form, lambda: sso.unlink_identity(person, identity, now=g.now))
    if unlinked.done:
        flash(_("The sign-in with %(provider)s is removed.", provider=title), "success")
        return redirect(url_for(".list_identities"))
    return render_template(
        "accounts/sso_unlink.html", form=form, identity=identity, title=title
    ), unlinked.status


# --- claims to roles --------------------------------------------------------------------------


@bp.route("/admin/sign-in-providers", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def list_mappings():  # type: ignore[no-untyped-def]
    form = MappingForm()
    form.provider.choices = [SelectChoice(p.name, p.title) for p in sso.providers()]
    added = attempt(
        form,
        lambda: sso.add_role_mapping(
            actor=current_person(),
            provider=form.provider.data,
            claim=form.claim.data,
            value=form.value.data,
            role=Role(form.role.data),
            now=g.now,
        ),
    )
    if added.done:
        flash(_("The mapping is added; it applies from each person's next sign-in."), "success")
        return redirect(url_for(".list_mappings"))
    return render_template(
        "accounts/sso_mappings.html",
        form=form,
        providers=sso.providers(),
        mappings=sso.list_mappings(),
    ), added.status


@bp.route("/admin/sign-in-providers/mappings/<int:mapping_id>/remove", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def remove_mapping(mapping_id: int):  # type: ignore[no-untyped-def]
    mapping = db.session.get(SsoRoleMapping, mapping_id) or abort(404)
    form = ConfirmForm()
    removed = attempt(
        form, lambda: sso.remove_role_mapping(mapping, actor=current_person(), now=g.now)
    )
    if removed.done:
        flash(_("The mapping is removed; the roles it granted go at the next sign-in."), "success")
        return redirect(url_for(".list_mappings"))
    return render_template(
        "accounts/sso_mapping_remove.html", form=form, mapping=mapping
    ), removed.status
