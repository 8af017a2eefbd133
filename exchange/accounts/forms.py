"""Sign-in, password and user administration forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from exchange.accounts.services import LOCALES
from exchange.forms import choices, optional_int
from exchange.i18n import _l
from exchange.presentation.accounts import ROLE_LABELS


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in"))


class CodeForm(FlaskForm):
    """The 6-digit code of an authenticator app (or a recovery code)."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])


class DigestForm(FlaskForm):
    """The account settings' e-mail choice (SPEC §6 "Reminders")."""

    email_digest = BooleanField(_l("E-mail me a daily digest"))


class DisableTwoFactorForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm_password = PasswordField(_l("Repeat the new password"), validators=[DataRequired()])


LOCALE_LABELS = {"": _l("Browser default"), "en": "English", "zh_Hans": "简体中文"}


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    # Checked by the service (format, length, unique), so the page and the API agree.
    staff_number = StringField(_l("Staff number"))
    role = SelectField(
        _l("Role"), choices=choices((r.value, label) for r, label in ROLE_LABELS.items())
    )
    department_id = SelectField(_l("Department"), coerce=optional_int, validate_choice=False)
    enterprise_id = SelectField(_l("Enterprise"), coerce=optional_int, validate_choice=False)
    locale = SelectField(
        _l("Language"), choices=choices((code, LOCALE_LABELS[code]) for code in ("", *LOCALES))
    )
    password = PasswordField(_l("Password"))
    active = BooleanField(_l("Active (can sign in)"), default=True)
