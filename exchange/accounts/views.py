"""Sign-in and account pages, and the administration of users."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from exchange.accounts import queries, services, two_factor
from exchange.accounts.forms import (
    ChangePasswordForm,
    CodeForm,
    DigestForm,
    DisableTwoFactorForm,
    LoginForm,
    UserForm,
)
from exchange.accounts.models import Role, User
from exchange.errors import Conflict, PermissionDenied
from exchange.extensions import db, limiter
from exchange.forms import choices
from exchange.i18n import _, _l
from exchange.org import queries as org_queries
from exchange.permissions import allow, public
from exchange.presentation import qr_svg
from exchange.web import is_post, paginate, run_form, safe_next

bp = Blueprint("accounts", __name__)
admin_bp = Blueprint("users", __name__, url_prefix="/admin/users")


def _login_limit() -> str:
    return str(current_app.config["EXCHANGE_LOGIN_LIMIT"])


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            form.password.errors = [_("The e-mail address or password is not right.")]
        elif user.has_two_factor:
            # The password was right; the session starts once the code is too.
            session[PENDING] = {"user": user.id, "remember": bool(form.remember.data),
                                "at": int(time.time())}  # fmt: skip
            return redirect(url_for("accounts.login_code", next=request.args.get("next")))
        else:
            return _signed_in(user, bool(form.remember.data))
    return render_template("accounts/login.html", form=form)


# The sign-in waiting for its second factor: the user whose password was right.
PENDING = "two_factor_pending"
PENDING_SECONDS = 300


def _signed_in(user: User, remember: bool) -> Response:
    services.start_session(user, remember, request.remote_addr)
    db.session.commit()
    login_user(user, remember=remember)
    if two_factor.must_enrol(user):
        flash(_("Your role signs in with a second factor: set it up now."), "info")
        return redirect(url_for("accounts.two_factor_setup"))
    return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))


def _pending_user() -> tuple[User, bool] | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING, None)
        return None
    user = queries.user_by_id(int(pending.get("user", 0)))
    if user is None or not user.active or not user.has_two_factor:
        return None
    return user, bool(pending.get("remember"))


def _two_factor_limit() -> str:
    return str(current_app.config["EXCHANGE_TWO_FACTOR_LIMIT"])


def _pending_key() -> str:
    """Wrong codes count per person as well as per client address."""
    pending = session.get(PENDING)
    return f"two-factor:{pending.get('user') if isinstance(pending, dict) else 'none'}"


@bp.route("/login/code", methods=["GET", "POST"])
@public
@limiter.limit(_two_factor_limit, methods=["POST"])
@limiter.limit(_two_factor_limit, methods=["POST"], key_func=_pending_key)
def login_code():
    found = _pending_user()
    if found is None:
        flash(_("Sign in again: the sign-in waited too long for its code."), "info")
        return redirect(url_for("accounts.login"))
    user, remember = found
    form = CodeForm()
    if form.validate_on_submit():
        if two_factor.verify(user, form.code.data):
            session.pop(PENDING, None)
            return _signed_in(user, remember)
        form.code.errors = [str(two_factor.WRONG_CODE)]
    return render_template("accounts/login_code.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if current_user.is_authenticated:
        services.end_session(current_user)
        db.session.commit()
    logout_user()
    flash(_("You have signed out."), "info")
    response = redirect(url_for("accounts.login"))
    # The pages this browser kept of the session (the service worker's too) go with it.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.route("/account", methods=["GET", "POST"])
@allow()
def account():
    # A box left unticked is not sent at all: on a POST it is off unless it came.
    form = DigestForm() if is_post() else DigestForm(email_digest=current_user.email_digest)
    if form.validate_on_submit():
        services.set_email_digest(current_user, bool(form.email_digest.data))
        db.session.commit()
        if current_user.email_digest:
            flash(_("You will get a daily digest when something waits for you."), "success")
        else:
            flash(_("You will get no daily digest any more."), "success")
        return redirect(url_for("accounts.account"))
    return render_template(
        "accounts/account.html",
        digest_form=form,
        recovery_left=(
            two_factor.recovery_codes_left(current_user) if current_user.has_two_factor else 0
        ),
    )


# --- two-factor sign-in ----------------------------------------------------------------

# Endpoints a person who must enrol in two-factor sign-in can still reach.
ENROLMENT_OPEN = {
    "accounts.two_factor_setup",
    "accounts.logout",
    "accounts.set_language",
    "static",
    "dashboard.favicon",
    "dashboard.healthz",
}


@bp.before_app_request
def require_enrolment() -> Response | None:
    """A role that must use a second factor (``EXCHANGE_REQUIRE_2FA_FOR``) reaches
    nothing but the set-up page until it is on; its API tokens are refused too."""
    if request.endpoint in ENROLMENT_OPEN or not current_user.is_authenticated:
        return None
    if not two_factor.must_enrol(current_user):
        return None
    if request.path.startswith("/api/"):
        raise PermissionDenied(_l("Your role signs in with a second factor: set it up first."))
    return redirect(url_for("accounts.two_factor_setup"))


SETUP_SECRET = "two_factor_secret"  # noqa: S105 - the name of a session key


@bp.route("/account/two-factor", methods=["GET", "POST"])
@allow()
@limiter.limit(_two_factor_limit, methods=["POST"])
def two_factor_setup():
    """Set up (a QR code and the otpauth:// address, confirmed by a first code), or see
    and turn off, the second factor."""
    if current_user.has_two_factor:
        form = DisableTwoFactorForm()
        done = run_form(form, lambda: two_factor.disable(current_user, form.password.data) or True)
        if done:
            db.session.commit()
            flash(_("Two-factor sign-in is off."), "success")
            return redirect(url_for("accounts.account"))
        return render_template(
            "accounts/two_factor.html",
            form=form,
            required=two_factor.required_for(current_user),
            recovery_left=two_factor.recovery_codes_left(current_user),
        )
    # The secret waits in the (signed, HTTP-only) session until a code confirms it.
    secret = session.get(SETUP_SECRET) or two_factor.new_secret()
    session[SETUP_SECRET] = secret
    form = CodeForm()
    codes = run_form(form, lambda: two_factor.enrol(current_user, secret, form.code.data))
    if codes:
        db.session.commit()
        session.pop(SETUP_SECRET, None)
        g.no_store = True
        return render_template("accounts/recovery_codes.html", codes=codes)
    uri = two_factor.provisioning_uri(current_user, secret)
    g.no_store = True
    return render_template(
        "accounts/two_factor_setup.html", form=form, uri=uri, secret=secret, qr=qr_svg(uri)
    )


@bp.route("/account/password", methods=["GET", "POST"])
@allow()
@limiter.limit(_login_limit, methods=["POST"])  # a stolen session must not guess the password
def change_password():
    form = ChangePasswordForm()
    done = run_form(
        form,
        lambda: (
            services.change_password(
                current_user,
                form.current_password.data or "",
                form.new_password.data or "",
                form.confirm_password.data or "",
            )
            or True
        ),
    )
    if done:
        db.session.commit()  # this session stays; every other one has ended
        flash(_("Your password has been changed."), "success")
        return redirect(url_for("dashboard.index"))
    return render_template("accounts/password.html", form=form)


@bp.route("/lang/<code>", methods=["POST"])
@public
def set_language(code: str):
    if code not in services.LOCALES:
        code = "en"
    if current_user.is_authenticated:
        services.set_locale(current_user, code)
        db.session.commit()
    response = redirect(safe_next(request.form.get("next")) or url_for("dashboard.index"))
    response.set_cookie(
        "lang",
        code,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
    )
    return response


# --- administration of users ---------------------------------------------


def _user_form(user: User | None = None) -> UserForm:
    form = UserForm(obj=user)
    departments = org_queries.departments_by_name()
    enterprises = org_queries.enterprises_by_name()
    form.department_id.choices = choices([("", "—")] + [(d.id, d.name) for d in departments])
    form.enterprise_id.choices = choices([("", "—")] + [(e.id, e.name) for e in enterprises])
    if user is not None and not form.is_submitted():
        form.locale.data = user.locale or ""
    return form


def _user_input(form: UserForm) -> services.UserInput:
    return services.UserInput(
        email=form.email.data or "",
        name=form.name.data or "",
        role=form.role.data or "",
        department_id=form.department_id.data,
        enterprise_id=form.enterprise_id.data,
        active=bool(form.active.data),
        locale=form.locale.data or None,
        password=form.password.data or None,
        staff_number=form.staff_number.data or None,
    )


@admin_bp.route("/")
@allow(Role.ADMIN)
def index():
    query = request.args.get("q", "").strip()[:100]
    role = request.args.get("role", "")
    if role not in {r.value for r in Role}:
        role = ""
    stmt = queries.users_query(role, query, with_places=True)
    return render_template("admin/users.html", page=paginate(stmt), q=query, role=role)


@admin_bp.route("/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def new():
    form = _user_form()
    user = run_form(form, lambda: services.create_user(current_user, _user_input(form)))
    if user:
        db.session.commit()
        flash(_("User %(name)s created.", name=user.name), "success")
        return redirect(url_for("users.index"))
    return render_template("admin/user_form.html", form=form, user=None)


@admin_bp.route("/<id:user_id>/two-factor/reset", methods=["POST"])
@allow(Role.ADMIN)
def reset_two_factor(user_id: int):
    user = db.get_or_404(User, user_id)
    try:
        two_factor.reset(current_user, user)
    except Conflict as error:
        db.session.rollback()
        flash(str(error.message), "warning")
        return redirect(url_for("users.edit", user_id=user.id))
    db.session.commit()
    flash(_("Two-factor sign-in of %(name)s removed: they set it up again at their next sign-in.",
            name=user.name), "success")  # fmt: skip
    return redirect(url_for("users.edit", user_id=user.id))


@admin_bp.route("/<id:user_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = _user_form(user)
    saved = run_form(form, lambda: services.update_user(current_user, user, _user_input(form)))
    if saved:
        db.session.commit()
        flash(_("User %(name)s saved.", name=user.name), "success")
        return redirect(url_for("users.index"))
    return render_template(
        "admin/user_form.html", form=form, user=user, events=two_factor.events(user)
    )
