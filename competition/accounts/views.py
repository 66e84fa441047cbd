"""Registration, login and logout, password reset, invitations and account administration."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask_login import current_user, logout_user

from competition import params
from competition.access import current_person, public, roles_required, safe_next, signed_in
from competition.accounts import factor_operations as factor_ops
from competition.accounts import operations as ops
from competition.accounts import passkeys, second_factor, sessions, single_sign_on
from competition.accounts.forms import (
    AcceptInvitationForm,
    ConfirmForm,
    EmailOnlyForm,
    InviteForm,
    LoginForm,
    NewPasswordForm,
    RegisterForm,
    SecondStepForm,
)
from competition.accounts.models import Role, User, UserStatus
from competition.accounts.tokens import Purpose, TokenError
from competition.db import utcnow
from competition.extensions import db
from competition.forms import attempt, perform
from competition.i18n import LANGUAGES, SESSION_KEY
from competition.i18n import gettext as _

bp = Blueprint("accounts", __name__)
log = logging.getLogger(__name__)
USERS_PER_PAGE = 50


def load_user(user_id: str) -> User | None:
    settings = current_app.extensions["settings"]
    return sessions.user_for_cookie(
        user_id,
        now=utcnow(),
        idle=dt.timedelta(minutes=settings.session_idle_minutes),
        absolute=dt.timedelta(hours=settings.session_absolute_hours),
    )


def _client_address() -> str:
    # ProxyFix (only when TRUSTED_PROXIES is set) has already put the real client here.
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
@public
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    checked = attempt(
        form,
        lambda: ops.check_password(
            email=form.email.data,
            password=form.password.data,
            client_address=_client_address(),
            now=g.now,
        ),
    )
    if checked.result is not None:
        user = checked.result
        if second_factor.has_second_factor(user):
            # No session yet: only a five-minute marker that the password step is passed.
            second_factor.begin_pending(user, next_url=form.next.data, now=g.now)
            return redirect(url_for("accounts.second_step"))
        return second_factor.finish_login(user, method="password", next_url=form.next.data)
    status = checked.status
    if isinstance(checked.error, ops.LoginRefused) and checked.error.throttled:
        status = 429
    return render_template("accounts/login.html", form=form, resend=EmailOnlyForm()), status


@bp.route("/login/second-factor", methods=["GET", "POST"])
@public
def second_step():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    pending = second_factor.pending_login(g.now)
    if pending is None:
        flash(_("Please log in again: the time for the second step has run out."), "info")
        return redirect(url_for("accounts.login"))
    user, next_url = pending
    form = SecondStepForm()
    verified = attempt(
        form,
        lambda: factor_ops.verify_second_step(
            user, code=form.code.data, client_address=_client_address(), now=g.now
        ),
    )
    if verified.result is not None:
        if verified.result == factor_ops.METHOD_RECOVERY_CODE:
            flash(
                _(
                    "You used a recovery code; it will not work again. If you lost your "
                    "authenticator app, set up a new one on your account's security page."
                ),
                "info",
            )
        return second_factor.finish_login(user, method=verified.result, next_url=next_url)
    status = verified.status
    if isinstance(verified.error, ops.LoginRefused) and verified.error.throttled:
        status = 429
    has_totp = second_factor.find_totp(user) is not None
    if not has_totp:
        form.code.label.text = _("Recovery code")
    return render_template(
        "accounts/second_step.html",
        form=form,
        has_totp=has_totp,
        has_passkeys=passkeys.has_passkeys(user),
    ), status


@bp.route("/language", methods=["POST"])
@public
def choose_language():  # type: ignore[no-untyped-def]
    """The switch in the header: kept in the session, and on the account of a signed-in
    person so that mail and letters follow it."""
    locale = request.form.get("locale", "")
    if locale not in LANGUAGES:
        abort(400)
    cookie_session[SESSION_KEY] = locale
    if current_user.is_authenticated:
        perform(lambda: ops.choose_language(current_person(), locale))
    # Back to the page the switch was on (the same-origin Referer), which the page itself
    # does not repeat: a page must not differ by the address it was asked for.
    back = request.form.get("next") or _same_site_path(request.referrer)
    return redirect(safe_next(back) or url_for("dashboard.home"), 303)


def _same_site_path(address: str | None) -> str | None:
    if not address:
        return None
    parts = urlsplit(address)
    if parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():  # type: ignore[no-untyped-def]
    # Signed in through a provider that offers it: end the provider's session too.
    provider_logout = single_sign_on.end_session_url(cookie_session.get(single_sign_on.LOGOUT_KEY))
    ops.log_out(
        current_person(),
        session_token=cookie_session.get(sessions.COOKIE_KEY),
        now=g.now,
    )
    logout_user()
    cookie_session.clear()
    flash(_("You are logged out."), "info")
    if provider_logout:
        # A page that goes on by itself: the form's CSP (form-action 'self') forbids a redirect
        # of the logout's POST to another site.
        return render_template("accounts/sso_logout.html", provider_logout=provider_logout)
    return redirect(url_for("accounts.login"))


@bp.route("/register", methods=["GET", "POST"])
@public
def register():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = RegisterForm()
    registered = attempt(
        form,
        lambda: ops.register_applicant(
            email=form.email.data, name=form.name.data, password=form.password.data, now=g.now
        ),
    )
    if registered.done:
        return render_template("accounts/check_mail.html", email=form.email.data.lower())
    return render_template("accounts/register.html", form=form), registered.status


def _token_problem(error: TokenError, *, again_endpoint: str):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "accounts/link_problem.html",
            message=str(error),
            expired=error.expired,
            again_url=url_for(again_endpoint),
        ),
        400,
    )


@bp.route("/confirm/<token>")
@public
def confirm_email(token: str):  # type: ignore[no-untyped-def]
    try:
        user = ops.user_for_token(Purpose.CONFIRM_EMAIL, token)
    except TokenError as error:
        return _token_problem(error, again_endpoint="accounts.resend_confirmation")
    if ops.confirm_email(user, now=g.now):
        flash(_("Your e-mail address is confirmed. You can log in now."), "success")
    else:
        flash(_("Your e-mail address was already confirmed. Please log in."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/confirm", methods=["GET", "POST"])
@public
def resend_confirmation():  # type: ignore[no-untyped-def]
    form = EmailOnlyForm()
    if form.validate_on_submit():
        ops.resend_confirmation(email=form.email.data, now=g.now)
        return render_template("accounts/check_mail.html", email=form.email.data.lower())
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/resend.html", form=form), status


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot_password():  # type: ignore[no-untyped-def]
    form = EmailOnlyForm()
    asked = attempt(
        form,
        lambda: ops.request_password_reset(
            email=form.email.data, client_address=_client_address(), now=g.now
        ),
    )
    if asked.done:
        return render_template(
            "accounts/check_mail.html", email=form.email.data.lower(), reset=True
        )
    # The only refusal is the throttle.
    status = 429 if asked.error is not None else asked.status
    return render_template("accounts/forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):  # type: ignore[no-untyped-def]
    try:
        user = ops.user_for_token(Purpose.RESET_PASSWORD, token)
    except TokenError as error:
        return _token_problem(error, again_endpoint="accounts.forgot_password")
    form = NewPasswordForm()
    changed = attempt(
        form, lambda: ops.reset_password(user, password=form.password.data, now=g.now)
    )
    if changed.done:
        flash(_("Your password is changed. Please log in with the new password."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form), changed.status


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str):  # type: ignore[no-untyped-def]
    try:
        user = ops.user_for_token(Purpose.INVITATION, token)
    except TokenError as error:
        return _token_problem(error, again_endpoint="accounts.login")
    if user.status != UserStatus.INVITED:
        flash(_("This invitation has already been accepted. Please log in."), "info")
        return redirect(url_for("accounts.login"))
    form = AcceptInvitationForm()
    if request.method == "GET":
        form.name.data = user.name
    accepted = attempt(
        form,
        lambda: ops.accept_invitation(
            user, name=form.name.data, password=form.password.data, now=g.now
        ),
    )
    if accepted.done:
        flash(_("Welcome! Your account is ready. Please log in."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/accept_invitation.html", form=form, user=user), accepted.status


@bp.route("/people/invite", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def invite_person():  # type: ignore[no-untyped-def]
    form = InviteForm()
    invited = attempt(
        form,
        lambda: ops.invite_person(
            actor=current_person(),
            email=form.email.data,
            name=form.name.data or "",
            role=Role(form.role.data),
            now=g.now,
        ),
    )
    if invited.done and invited.result is not None:
        flash(_("Invitation sent to %(email)s.", email=invited.result.email), "success")
        return redirect(url_for("accounts.invite_person"))
    return render_template("accounts/invite.html", form=form), invited.status


@bp.route("/admin/users")
@roles_required(Role.ADMIN)
def list_users():  # type: ignore[no-untyped-def]
    q = params.text("q")
    query = sa.select(User).order_by(User.email)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(
            sa.or_(sa.func.lower(User.email).like(pattern), sa.func.lower(User.name).like(pattern))
        )
    page = db.paginate(query, page=params.page(), per_page=USERS_PER_PAGE, error_out=False)
    with_factor = second_factor.people_with_second_factor([user.id for user in page.items])
    return render_template(
        "accounts/users.html", page=page, q=q, form=ConfirmForm(), with_factor=with_factor
    )


@bp.route("/admin/users/<int:user_id>/second-factor/reset", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def reset_second_factor(user_id: int):  # type: ignore[no-untyped-def]
    user = db.session.get(User, user_id) or abort(404)
    form = ConfirmForm()
    reset = attempt(
        form, lambda: factor_ops.reset_second_factor(user, actor=current_person(), now=g.now)
    )
    if reset.done:
        flash(
            _(
                "The second factor of %(email)s is reset; they are told by e-mail and sign in "
                "with their password alone next time.",
                email=user.email,
            ),
            "success",
        )
        return redirect(url_for("accounts.list_users", q=user.email))
    return render_template(
        "accounts/reset_second_factor.html",
        form=form,
        user=user,
        has_factor=second_factor.has_second_factor(user),
        own=user.id == current_person().id,
    ), reset.status


@bp.route("/admin/users/<int:user_id>/disable", methods=["POST"])
@roles_required(Role.ADMIN)
def disable_user(user_id: int):  # type: ignore[no-untyped-def]
    return _set_disabled(user_id, disabled=True)


@bp.route("/admin/users/<int:user_id>/enable", methods=["POST"])
@roles_required(Role.ADMIN)
def enable_user(user_id: int):  # type: ignore[no-untyped-def]
    return _set_disabled(user_id, disabled=False)


def _set_disabled(user_id: int, *, disabled: bool):  # type: ignore[no-untyped-def]
    user = db.session.get(User, user_id) or abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    changed = perform(
        lambda: ops.set_account_disabled(user, actor=current_person(), disabled=disabled, now=g.now)
    )
    if changed.error is not None:
        flash(str(changed.error), "error")
    else:
        done = (
            _("%(email)s is disabled.", email=user.email)
            if disabled
            else _("%(email)s is enabled.", email=user.email)
        )
        flash(done, "success")
    return redirect(url_for("accounts.list_users", q=params.text("q")))
