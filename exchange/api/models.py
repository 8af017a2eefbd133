"""The API's shapes (SPEC §7), declared once: request bodies and query strings
(``*Input``, ``*Patch``, ``*Query``) and answers. The endpoints name them in
``@operation``; exchange.api.openapi makes the document from them, and the tests
check every answer against them.

The serialisers (exchange.api.serialise) stay the one place that turns records into
JSON; these models describe what they produce.
"""

# The field types below are built by functions (text(120), one_of(...), …) that pydantic
# reads at run time; a static checker cannot evaluate them.
# mypy: disable-error-code="valid-type"

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, create_model

from exchange.api.spec import (
    MAX_PER_PAGE,
    Answer,
    Body,
    Bool,
    Count,
    Id,
    InputId,
    IsoDate,
    Page,
    Query,
    QueryId,
    QueryText,
    Text,
    choice,
    number,
    one_of,
    patch_of,
    required,
    text,
    whole,
)
from exchange.errors import HTTP_CODES, DomainError
from exchange.logs.integrity import FLAG_ORDER
from exchange.logs.models import PRACTICE_CATEGORIES, TEACHING_CATEGORIES
from exchange.logs.workflow import Action, Status

ROLES = ("teacher", "expert", "head", "admin")
LOCALES = ("en", "zh_Hans")
ENTERPRISE_KINDS = ("hospital", "pharma", "device", "health_it", "other")
AGREEMENT_SCOPES = ("practice", "teaching", "both")
PERIOD_STATES = ("open", "locked")
LOG_KINDS = ("practice", "teaching")
LOG_STATUSES = tuple(s.value for s in Status)
CATEGORIES = tuple(dict.fromkeys((*PRACTICE_CATEGORIES, *TEACHING_CATEGORIES)))
RULE_KINDS = ("honour", "bonus")
AUDIENCES = ("teacher", "expert")
AWARD_STATUSES = ("proposed", "approved", "rejected", "issued", "revoked")
ROUND_STATES = ("draft", "finalized")
SCOPES = ("department", "college")
EXPORTS = tuple(f"{sheet}_{fmt}" for sheet in ("payout", "honours") for fmt in ("csv", "xlsx"))

Hours = Annotated[float, Field(ge=0, description="Decimal hours, e.g. 12.5.")]
Money = Annotated[
    int, Field(ge=0, le=2**31 - 1, description="Minor currency units (fen); 0 or more.")
]
Url = Annotated[str, Field(json_schema_extra={"format": "uri"})]


InputMoney = whole(0, 2**31 - 1)


def nullable_id(description: str) -> Any:
    return Annotated[InputId | None, Field(description=description)]


# --- errors ------------------------------------------------------------------------


def error_codes() -> list[str]:
    """Every code an error body can carry: the HTTP ones and every domain error's
    (``too_early``, ``link_expired``, …), found when the document is made, once every
    domain has defined its errors."""
    codes = set(HTTP_CODES.values())
    kinds: list[type[DomainError]] = [DomainError]
    while kinds:
        kind = kinds.pop()
        codes.add(kind.code)
        kinds.extend(kind.__subclasses__())
    return sorted(codes)


def _codes(schema: dict[str, Any]) -> None:
    schema["enum"] = error_codes()


class ErrorDetail(Answer):
    code: str = Field(json_schema_extra=_codes)
    message: str = Field(description="For people, in their language.")
    fields: dict[str, str] = Field(description="Field name → what is wrong with it; empty if none.")
    details: dict[str, str] = Field(
        None,  # type: ignore[arg-type]  # absent unless the error has facts to give
        description="Facts to act on, where an error has them, e.g. `finalize_from` "
        "(a date) with `too_early`.",
    )
    request_id: str = Field(  # type: ignore[assignment]
        None,  # absent outside a request
        description="The request's id (also the `X-Request-ID` header), to quote when "
        "reporting a problem.",
    )


class Error(Answer):
    """Every error answers this shape (SPEC §7)."""

    error: ErrorDetail


# --- auth and the caller -----------------------------------------------------------


class TokenRequest(Body):
    model_config = required("email", "password")

    email: Text = ""
    password: Text = ""
    code: text(40) | None = Field(
        "",
        description="For accounts with two-factor sign-in: the current 6-digit code of the "
        "authenticator app, or a recovery code.",
    )


class Token(Answer):
    token: str


_STAFF_NUMBER = text(  # the service checks it, naming what is allowed
    32,
    pattern="^([A-Za-z0-9]([A-Za-z0-9/-]*[A-Za-z0-9])?)?$",
    description="The college's staff number (工号): letters, digits, - and /; stored "
    "upper-cased, unique when set. null or empty: none.",
    examples=["T2019034"],
)


class User(Answer):
    id: Id
    email: str = Field(json_schema_extra={"format": "email"})
    name: str
    role: choice(*ROLES)
    department_id: Id | None
    enterprise_id: Id | None
    active: bool = Field(description="Inactive users cannot sign in.")
    locale: choice(*LOCALES) | None
    staff_number: str | None


class UserInput(Body):
    model_config = required("email", "name", "role", "password")

    email: text(254, fmt="email") = ""
    name: text(120) = ""
    role: one_of(*ROLES) = ""
    department_id: nullable_id("Required for teacher and head.") = None
    enterprise_id: nullable_id("Required for expert.") = None
    active: Bool = Field(True, description="Inactive users cannot sign in.")
    locale: (
        one_of(*LOCALES, "", description='"" or null: none (the browser\'s language).') | None
    ) = None
    password: text(200, min_length=8, write_only=True) | None = Field(
        None,
        description="Required on create (at least 8 characters); on PATCH only to change it.",
    )
    staff_number: _STAFF_NUMBER | None = None


UserPatch = patch_of(UserInput)


class UserQuery(Page):
    role: choice(*ROLES) = Field(None, description="Only users with this role.")  # type: ignore[assignment]
    q: QueryText = Field("", description="Part of the e-mail address, name or staff number.")


class DepartmentRef(Answer):
    id: Id
    code: str
    name: str


class Department(DepartmentRef):
    pass


class EnterpriseRef(Answer):
    id: Id
    code: str
    name: str


class Me(User):
    department: Department | None
    enterprise: EnterpriseRef | None


# --- organisation --------------------------------------------------------------------


class DepartmentInput(Body):
    model_config = required("code", "name")

    code: text(16, description="Letters, digits, - and _; unique.", examples=["CM"]) = ""
    name: text(120) = ""


DepartmentPatch = patch_of(DepartmentInput)


class Agreement(Answer):
    id: Id
    enterprise_id: Id
    department_id: Id | None = Field(description="null: all departments.")
    reference: str
    starts_on: dt.date
    ends_on: dt.date
    scope: choice(*AGREEMENT_SCOPES)


class AgreementInput(Body):
    model_config = required("enterprise_id", "reference", "starts_on", "ends_on", "scope")

    enterprise_id: InputId | None = None
    department_id: nullable_id("null: all departments.") = None
    reference: text(60) = ""
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    scope: one_of(*AGREEMENT_SCOPES) = ""


AgreementPatch = patch_of(AgreementInput)


class AgreementQuery(Page):
    enterprise: QueryId = Field(None, description="Only the agreements of this enterprise.")  # type: ignore[assignment]


class Enterprise(Answer):
    id: Id
    code: str
    name: str
    kind: choice(*ENTERPRISE_KINDS)
    contact_person: str
    phone: str
    address: str
    agreements: list[Agreement]


class EnterpriseInput(Body):
    model_config = required("code", "name", "kind")

    code: text(16, description="Letters, digits, - and _; unique.") = ""
    name: text(160) = ""
    kind: one_of(*ENTERPRISE_KINDS) = ""
    contact_person: text(120) | None = ""
    phone: text(40) | None = ""
    address: text(300) | None = ""


EnterprisePatch = patch_of(EnterpriseInput)


class Period(Answer):
    id: Id
    name: str
    starts_on: dt.date
    ends_on: dt.date
    state: choice(*PERIOD_STATES)


class PeriodInput(Body):
    model_config = required("name", "starts_on", "ends_on")

    name: text(40, examples=["2025-2026"]) = ""
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    state: one_of("open") | None = Field(None, description="A new period starts open.")


class PeriodPatch(Body):
    name: text(40, examples=["2025-2026"]) = None  # type: ignore[assignment]
    starts_on: IsoDate = None  # type: ignore[assignment]
    ends_on: IsoDate = None  # type: ignore[assignment]
    state: one_of(*PERIOD_STATES) = Field(  # type: ignore[assignment]
        None,
        description='"locked" locks the period for good; a locked period cannot be opened again.',
    )


# --- logs -----------------------------------------------------------------------------

_LOG_HOURS = number(minimum=0.25, maximum=12, multiple_of=0.25)


class _LogFields(Body):
    model_config = required("kind", "date", "hours", "category", "description")

    date: IsoDate | None = Field(
        None, description="The day worked (college time zone); not in the future."
    )
    hours: _LOG_HOURS | None = Field(
        None,
        description="0.25 to 12 in quarter hours; a number, or a number as a string. At most "
        "12 hours a day across the owner's logs that are not rejected.",
    )
    category: one_of(*CATEGORIES) = Field(
        "",
        description="practice: "
        + ", ".join(PRACTICE_CATEGORIES)
        + "; teaching: "
        + ", ".join(TEACHING_CATEGORIES)
        + ".",
    )
    description: text(2000, min_length=1, description="Plain text, stored as typed.") = ""
    enterprise_id: nullable_id(
        "practice (required): the partner enterprise, with an agreement in force on the date. "
        "teaching: the expert's own enterprise, implicit."
    ) = None
    department_id: nullable_id(
        "teaching (required): where the expert taught, with an agreement in force on the "
        "date. practice: the teacher's own department, implicit."
    ) = None
    course: text(120, description="teaching: required.") | None = None
    cohort: text(60, description="teaching: optional.") | None = None
    students: whole(1, 1000) | None = Field(None, description="teaching: required.")
    verifier_id: nullable_id(
        "practice: an expert of the enterprise; teaching: a teacher or head of the "
        "department; never the owner. null: on-site confirmation."
    ) = None


_CLIENT_ID_DESCRIPTION = (
    "Chosen by the client: a second create with the same one answers 200 with the first "
    "log instead of storing a duplicate."
)


class LogInput(_LogFields):
    kind: one_of(*LOG_KINDS) = Field(
        "", description="Teachers and heads log `practice`, experts `teaching`."
    )
    client_id: text(36, fmt="uuid") | None = Field(None, description=_CLIENT_ID_DESCRIPTION)
    submit: Bool = Field(False, description="true: create and submit at once.")


class LogChange(_LogFields):
    kind: one_of(*LOG_KINDS) = Field("", description="Cannot change.")
    version: InputId = Field(None, description="If given and not the log's current version: 409.")


LogPatch = patch_of(LogChange, "LogPatch")


class LogQuery(Page):
    scope: choice("mine", "verify", "approve", "department") = Field(  # type: ignore[assignment]
        None, description="Which list (default: `mine`)."
    )
    status: choice(*LOG_STATUSES) = Field(None, description="Only logs in this status.")  # type: ignore[assignment]
    kind: choice(*LOG_KINDS) = Field(None, description="Only logs of this kind.")  # type: ignore[assignment]
    period: QueryId = Field(None, description="Only logs of this period.")  # type: ignore[assignment]
    flagged: choice("0", "1") = Field(  # type: ignore[assignment]
        None,
        description="`1`: only logs with at least one integrity flag (the queues, `verify` "
        "and `approve`, only; other scopes: 422).",
    )


class Evidence(Answer):
    name: str
    type: str = Field(examples=["image/jpeg"])
    size: int = Field(ge=1)
    url: Url = Field(description="Signed-in download.")


class EvidenceName(Query):
    name: QueryText = Field(None, description="The file's name as shown; `evidence` if none.")  # type: ignore[assignment]


class Log(Answer):
    id: Id
    kind: choice(*LOG_KINDS)
    owner_id: Id
    date: dt.date
    hours: float = Field(ge=0.25, le=12, multiple_of=0.25)
    category: choice(*CATEGORIES)
    description: str
    enterprise_id: Id | None
    department_id: Id | None
    course: str | None
    cohort: str | None
    students: int | None
    verifier_id: Id | None
    status: choice(*LOG_STATUSES)
    client_id: str | None = Field(description=_CLIENT_ID_DESCRIPTION)
    period_id: Id
    url: Url = Field(description="The log's web page.")
    version: int = Field(
        ge=1,
        description="Grows with every change; give it back on PATCH to refuse overwriting a "
        "change not yet seen.",
    )
    evidence: Evidence | None
    flags: list[choice(*(flag.value for flag in FLAG_ORDER))] = Field(  # type: ignore[misc]
        description="Integrity flags (SPEC §6): why the log may deserve a second look; they "
        "never block. `self_confirmed`: confirmed on site with the owner's own session "
        "cookie or from the address the owner last signed in from; `confirmer_many`: the "
        "same typed confirmer name confirmed logs of 3 or more owners that day; "
        "`outside_agreement`: no agreement in force covers it on its date; `day_over_10h`: "
        "the owner's claimed logs of that day total over 10 h; `repeated_description`: the "
        "same description on 5 or more of the owner's claimed logs of the period; "
        "`unusual_total`: the owner's period total in the department is above the "
        "department's 99th percentile."
    )


class HistoryEntry(Answer):
    action: choice(*(a.value for a in Action if a is not Action.DELETE))
    from_status: choice(*LOG_STATUSES) | None
    to_status: choice(*LOG_STATUSES)
    actor_id: Id | None = Field(description="null: an on-site confirmer.")
    actor_name: str = Field(description="On site: the name and job title the confirmer typed.")
    at: dt.datetime = Field(examples=["2026-09-01T08:30:00Z"])
    reason: str | None


class LogDetail(Log):
    """A log with its audit trail, oldest entry first."""

    history: list[HistoryEntry]


class Reason(Body):
    reason: text(500) | None = Field(None, description="Required where the action says so.")


class VerifierChoice(Body):
    model_config = required("verifier_id")

    verifier_id: InputId | None = Field(
        None,
        description="An active expert of the log's enterprise (practice) or teacher or head "
        "of its department (teaching), not the owner; null: on-site confirmation.",
    )


BULK_MAX = 200


class BulkApproval(Body):
    ids: list[Id] = Field(  # the ids of records: whole numbers from 1
        max_length=BULK_MAX, description="Log ids; an id given twice is answered once."
    )


class BulkError(Answer):
    code: str = Field(json_schema_extra=_codes)
    message: str


class BulkApproved(Answer):
    id: Id
    ok: Literal[True]
    log: Log


class BulkRefused(Answer):
    id: Id
    ok: Literal[False]
    error: BulkError


class BulkApprovalResult(Answer):
    results: list[BulkApproved | BulkRefused] = Field(description="One per id, in the order given.")


class ConfirmationLink(Answer):
    url: Url = Field(description="The public confirmation page, to show as a QR code.")
    expires_at: dt.datetime


# --- rewards ----------------------------------------------------------------------------


class PeriodQuery(Query):
    period: QueryId = Field(  # type: ignore[assignment]
        None,
        description="The period; default: the open one today falls in, else the latest "
        "(404 when there is none).",
    )


class EligibilityQuery(Page, PeriodQuery):
    department: QueryId = Field(  # type: ignore[assignment]
        None, description="The department; a head's own by default, required for admins (422)."
    )


class RoundQuery(Page):
    period: QueryId = Field(None, description="Only rounds of this period.")  # type: ignore[assignment]
    department: QueryId = Field(None, description="Only rounds of this department.")  # type: ignore[assignment]


class RuleQuery(Page):
    period: QueryId = Field(None, description="Only the rules of this period.")  # type: ignore[assignment]


class Rule(Answer):
    id: Id
    period_id: Id
    code: str
    name: str = Field(description="English name; shown to English readers and on certificates.")
    name_zh: str = Field(description="Chinese name; shown to Chinese readers and on certificates.")
    scope: choice(*SCOPES) = Field(
        description="department: hours counted per department, decided in that department's "
        "round; college: a person's hours across all departments of the period, decided in "
        "the college round."
    )
    kind: choice(*RULE_KINDS) = Field(description="honour: title and certificate; bonus: money.")
    audience: choice(*AUDIENCES) = Field(
        description="teacher: approved practice hours of teachers and heads; expert: "
        "approved teaching hours."
    )
    threshold_hours: Hours
    group: str | None = Field(
        description="Honours only: honours of one group are tiers, only the highest met is awarded."
    )
    fixed_amount_minor: Money | None
    rate_per_hour_minor: Money | None
    cap_minor: Money | None
    currency: str = Field(examples=["CNY"])


class RuleInput(Body):
    model_config = required("period_id", "code", "name", "kind", "audience", "threshold_hours")

    period_id: InputId | None = Field(None, description="Cannot change once created.")
    code: text(
        40,
        description="Letters, digits, - and _; unique within the period.",
        examples=["practice-cert"],
    ) = ""
    name: text(120, description="English name; shown on certificates.") = ""
    name_zh: text(120, description="Chinese name; shown on certificates.") | None = ""
    scope: one_of(*SCOPES) = Field(
        "department", description="department (default) or college: where hours count."
    )
    kind: one_of(*RULE_KINDS) = ""
    audience: one_of(*AUDIENCES) = ""
    threshold_hours: number(minimum=0, maximum=10000) | None = Field(
        None, description="Met when the approved hours its scope counts reach it (whole minutes)."
    )
    group: text(40) | None = Field(
        None, description="Honours only: tiers of one group; only the highest met is awarded."
    )
    fixed_amount_minor: InputMoney | None = Field(0, description="Bonus only: paid once met.")
    rate_per_hour_minor: InputMoney | None = Field(
        0, description="Bonus only: per hour over the threshold."
    )
    cap_minor: InputMoney | None = Field(None, description="Bonus only; null: no cap.")
    currency: text(3, examples=["CNY"]) = "CNY"


RulePatch = patch_of(RuleInput)


class RuleProgress(Answer):
    code: str
    name: str
    name_zh: str
    scope: choice(*SCOPES)
    kind: choice(*RULE_KINDS)
    threshold_hours: Hours
    met: bool = Field(description="Approved hours reach the threshold.")
    hours_missing: Hours = Field(description="0 once met.")
    amount_minor: int = Field(
        ge=0, description="Bonus only: the money the approved hours come to now; 0 otherwise."
    )


class DepartmentProgress(Answer):
    department_id: Id
    approved_hours: Hours
    pending_hours: Hours = Field(description="Submitted and verified, not yet approved.")
    rules: list[RuleProgress]


class Progress(Answer):
    period_id: Id
    approved_hours: Hours
    pending_hours: Hours = Field(description="Submitted and verified, not yet approved.")
    rules: list[RuleProgress] = Field(
        description="Every rule of the caller's audience (none for admins): college rules "
        "against the caller's hours across all departments; department rules count per "
        "department: with hours in several departments (an expert), such a rule is `met` if "
        "met in any of them, `hours_missing` is the closest department's and `amount_minor` "
        "the sum of them all."
    )
    departments: list[DepartmentProgress] = Field(
        description="One per department the caller's hours count in, with its department "
        "rules: a teacher's own (even without hours yet); each department an expert taught "
        "in. The top-level hours are their sum."
    )


class EligibilityRule(RuleProgress):
    awarded: bool = Field(description="Met, and not outranked by a higher tier of its group.")
    outranked_by: str | None = Field(description="The code of the higher tier awarded.")


class Eligibility(Answer):
    person_id: Id
    name: str
    role: choice(*ROLES)
    audience: choice(*AUDIENCES)
    approved_hours: Hours
    pending_hours: Hours
    rules: list[EligibilityRule]


class Award(Answer):
    id: Id
    round_id: Id
    holder_id: Id
    holder_name: str
    rule_id: Id
    rule_code: str
    rule_name: str
    rule_name_zh: str
    kind: choice(*RULE_KINDS)
    hours: Hours = Field(description="The holder's approved hours it rests on.")
    amount_minor: int = Field(ge=0, description="Bonus only.")
    currency: str = Field(examples=["CNY"])
    status: choice(*AWARD_STATUSES)
    certificate_number: str | None = Field(
        description="Once issued.", examples=["2025-2026-CM-0007"]
    )
    verification_code: str | None = Field(description="Once issued: the code of /verify/<code>.")
    reason: str | None = Field(description="Of a rejection or revocation.")
    credential_url: Url | None = Field(
        description="An issued (or revoked) honour's Open Badges 3.0 credential "
        "(GET, application/vc+jwt); null otherwise."
    )


AWARD_ACTIONS = ("propose", "repropose", "withdraw", "approve", "reject", "issue", "revoke")


class AwardHistoryEntry(Answer):
    action: choice(*AWARD_ACTIONS)
    from_status: choice(*AWARD_STATUSES) | None
    to_status: choice(*AWARD_STATUSES) | None = Field(description="null: withdrawn from the round.")
    actor_id: Id
    actor_name: str
    at: dt.datetime = Field(examples=["2026-09-01T08:30:00Z"])
    hours: Hours = Field(description="The hours the award rested on after this step.")
    amount_minor: int = Field(ge=0)
    currency: str = Field(examples=["CNY"])
    reason: str | None


class AwardDetail(Award):
    """An award with its audit trail, oldest entry first: the whole story of the holder's
    award for this rule in this round (a proposal that a refresh withdrew and proposed
    again keeps its earlier entries)."""

    history: list[AwardHistoryEntry]


RoundExports = create_model(
    "RoundExports",
    __base__=Answer,
    __doc__="The payout sheet (bonus awards) and the honour list, CSV and XLSX.",
    **dict.fromkeys(EXPORTS, (Url, ...)),  # type: ignore[call-overload]
)


class Round(Answer):
    id: Id
    scope: choice(*SCOPES)
    department_id: Id | None = Field(description="null for the college round.")
    period_id: Id
    state: choice(*ROUND_STATES)
    finalized_early: bool = Field(description="An admin finalized it before the period's end.")
    awards: list[Award]
    exports: RoundExports | None = Field(  # type: ignore[valid-type]
        description="null while a draft; the exports once finalized."
    )


class RoundInput(Body):
    model_config = required("period_id")

    scope: one_of(*SCOPES) = Field(
        "department",
        description="department (default) or college (admins): the college round decides "
        "the period's college rules.",
    )
    department_id: InputId | None = Field(None, description="Required for a department round.")
    period_id: InputId | None = Field(None, description="The period of the round.")


class FinalizeInput(Body):
    early: Bool = Field(False, description="Admins: finalize before the period's end (audited).")


class Verification(Answer):
    valid: bool = Field(description="Issued and not revoked.")
    status: choice("valid", "revoked")
    holder_name: str
    award_name: str = Field(description="The rule's English name.")
    award_name_zh: str = Field(description="The rule's Chinese name; empty when it has none.")
    period: str = Field(examples=["2025-2026"])
    certificate_number: str = Field(examples=["2025-2026-CM-0007"])
    issued_on: dt.date = Field(description="The day it was issued, in the college's time zone.")
    issuer: str = Field(
        description="The issuing department's name; for an award of the college round, the "
        "institution's."
    )
    institution: str


# --- lists ------------------------------------------------------------------------------


def page_of(model: type[Answer], **more: Any) -> type[Answer]:
    """``{"items": [...], "page", "per_page", "total"}`` of ``model``."""
    return create_model(  # type: ignore[no-any-return, call-overload]
        f"{model.__name__}Page",
        __base__=Answer,
        items=(list[model], ...),  # type: ignore[valid-type]
        page=(int, Field(ge=1)),
        per_page=(int, Field(ge=1, le=MAX_PER_PAGE)),
        total=(Count, ...),
        **more,
    )


UserPage = page_of(User)
DepartmentPage = page_of(Department)
EnterprisePage = page_of(Enterprise)
AgreementPage = page_of(Agreement)
PeriodPage = page_of(Period)
LogPage = page_of(Log)
RoundPage = page_of(Round)
RulePage = page_of(Rule)
EligibilityPage = page_of(
    Eligibility,
    department_id=(Id, Field(description="The department shown.")),
    period_id=(Id, Field(description="The period shown.")),
)
