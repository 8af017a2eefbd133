"""Sign-in and account pages, and the administration of users."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from exchange.accounts import services
from exchange.accounts.forms import ROLE_LABELS, ChangePasswordForm, LoginForm, UserForm
from exchange.accounts.models import Role, User
from exchange.extensions import db, limiter
from exchange.forms import choices
from exchange.org.models import Department, Enterprise
from exchange.permissions import allow, public
from exchange.web import paginate, run_form, safe_next

bp = Blueprint("accounts", __name__)
admin_bp = Blueprint("users", __name__, url_prefix="/admin/users")


@bp.app_context_processor
def role_labels() -> dict[str, object]:
    return {"role_label": lambda role: ROLE_LABELS.get(Role(role), role)}


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
        else:
            remember = bool(form.remember.data)
            services.start_session(user, remember)
            db.session.commit()
            login_user(user, remember=remember)
            return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if current_user.is_authenticated:
        services.end_session(current_user)
        db.session.commit()
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account")
@allow()
def account():
    return render_template("accounts/account.html")


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
    departments = db.session.execute(select(Department).order_by(Department.name)).scalars()
    enterprises = db.session.execute(select(Enterprise).order_by(Enterprise.name)).scalars()
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
    stmt = services.users_query(role, query).options(
        selectinload(User.department), selectinload(User.enterprise)
    )
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
    return render_template("admin/user_form.html", form=form, user=user)
