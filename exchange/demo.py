"""A believable demo college for ``flask --app exchange seed-demo``.

Everything goes through the same services as the web pages, so the demo obeys
the same rules as real data. Seeding is a list of steps (``STEPS``) that each
add one kind of record to a shared :class:`DemoCollege`; a later feature adds
its own step (logs in every state, a finalized reward round, …) by writing a
function ``add_<thing>(college)`` and inserting it in ``STEPS`` before
``lock_previous_period`` (a locked period accepts nothing new).

Random choices are deterministic: each step draws from its own seeded
generator (``college.rng("people")``), so adding a step never changes the data
the other steps produce.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import event, func, select

from exchange.accounts.models import Role, User
from exchange.accounts.services import UserInput, create_user, find_user_by_email
from exchange.extensions import db
from exchange.logs.models import (
    PRACTICE_CATEGORIES,
    TEACHING_CATEGORIES,
    ExchangeLog,
    LogEvent,
    LogKind,
)
from exchange.logs.services import (
    LogInput,
    OnsiteDecision,
    confirm_onsite,
    create_log,
    issue_confirmation_link,
    transition,
)
from exchange.logs.workflow import Action
from exchange.org.models import Agreement, Department, Enterprise, Period
from exchange.org.services import (
    AgreementInput,
    DepartmentInput,
    EnterpriseInput,
    PeriodInput,
    agreements_in_force,
    lock_period,
    save_agreement,
    save_department,
    save_enterprise,
    save_period,
)
from exchange.rewards.services import decide_award, finalize_round, open_round
from exchange.timeutil import college_today

SEED = "exchange-demo-college"
DEMO_PASSWORD = "exchange-demo"  # noqa: S105 - published on purpose: demo accounts only
APP_ADDRESS = "http://127.0.0.1:5000"  # where `make run` serves unless told otherwise

# The accounts printed after seeding; everybody else gets a name-based address.
ADMIN_EMAIL = "admin@example.com"
HEAD_EMAIL = "head@example.com"
TEACHER_EMAIL = "teacher@example.com"
EXPERT_EMAIL = "expert@example.com"


class DemoConflict(RuntimeError):
    """The database already holds records the demo would collide with."""


# --- the data ---------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentPlan:
    code: str
    name: str
    teachers: int
    heads: int


DEPARTMENTS = (
    DepartmentPlan("CM", "Clinical Medicine 临床医学系", teachers=8, heads=2),
    DepartmentPlan("NUR", "Nursing 护理系", teachers=8, heads=2),
    DepartmentPlan("PHA", "Pharmacy 药学系", teachers=6, heads=1),
    DepartmentPlan("MLT", "Medical Laboratory Technology 医学检验技术系", teachers=5, heads=1),
    DepartmentPlan("MIT", "Medical Imaging Technology 医学影像技术系", teachers=5, heads=1),
)


@dataclass(frozen=True)
class EnterprisePlan:
    code: str
    name: str
    kind: str
    contact_person: str
    phone: str
    address: str
    experts: int


ENTERPRISES = (
    EnterprisePlan(
        "YZ-FPH",
        "Yunzhou First People's Hospital 云州市第一人民医院",
        "hospital",
        "刘建国（科教科科长）",
        "0571-8706 2301",
        "云州市上城区解放路 168 号",
        experts=3,
    ),
    EnterprisePlan(
        "YZ-TCM",
        "Yunzhou Hospital of Traditional Chinese Medicine 云州市中医院",
        "hospital",
        "陈淑华（医务处）",
        "0571-8658 1120",
        "云州市西湖区体育场路 453 号",
        experts=1,
    ),
    EnterprisePlan(
        "YZ-MCH",
        "Yunzhou Maternal and Child Health Hospital 云州市妇幼保健院",
        "hospital",
        "黄丽萍（护理部主任）",
        "0571-8762 5500",
        "云州市拱墅区湖墅南路 95 号",
        experts=2,
    ),
    EnterprisePlan(
        "KANGYUAN",
        "Kangyuan Pharmaceutical Group 康源医药集团有限公司",
        "pharma",
        "周海涛（人力资源部）",
        "0571-8851 7766",
        "云州市钱塘区医药港大道 2 号",
        experts=2,
    ),
    EnterprisePlan(
        "RENHE",
        "Renhe Pharmacy Chain 仁和大药房连锁有限公司",
        "pharma",
        "吴晓东（运营总监）",
        "0571-8623 0918",
        "云州市滨江区江南大道 1188 号",
        experts=0,
    ),
    EnterprisePlan(
        "RUIKANG",
        "Ruikang Medical Devices 瑞康医疗器械股份有限公司",
        "device",
        "孙志强（技术培训中心）",
        "0571-8890 3312",
        "云州市余杭区文一西路 1500 号",
        experts=1,
    ),
    EnterprisePlan(
        "YIXIN",
        "Yixin Health Information Technology 医信健康科技有限公司",
        "health_it",
        "郑雨欣（产品部）",
        "0571-8577 4021",
        "云州市高新区科技大道 88 号",
        experts=1,
    ),
    EnterprisePlan(
        "HUACE",
        "Huace Clinical Laboratory 华测医学检验所",
        "other",
        "杨振华（质量负责人）",
        "0571-8816 2209",
        "云州市萧山区建设一路 66 号",
        experts=1,
    ),
    EnterprisePlan(
        "YZ-CDC",
        "Yunzhou Center for Disease Control and Prevention 云州市疾病预防控制中心",
        "other",
        "林国栋（培训科）",
        "0571-8711 5120",
        "云州市上城区明月桥路 17 号",
        experts=1,
    ),
)

IN_FORCE, EXPIRING, EXPIRED = "in force", "expiring", "expired"


@dataclass(frozen=True)
class AgreementPlan:
    enterprise: str
    department: str | None  # None: all departments
    scope: str
    status: str  # IN_FORCE, EXPIRING (ends within 60 days) or EXPIRED
    years: int = 3


AGREEMENTS = (
    AgreementPlan("YZ-FPH", None, "both", IN_FORCE, years=5),
    AgreementPlan("YZ-TCM", "CM", "practice", IN_FORCE),
    AgreementPlan("YZ-TCM", "NUR", "both", IN_FORCE),
    AgreementPlan("YZ-MCH", "NUR", "both", EXPIRING),
    AgreementPlan("YZ-MCH", "CM", "teaching", IN_FORCE),
    AgreementPlan("KANGYUAN", "PHA", "both", IN_FORCE, years=5),
    AgreementPlan("RENHE", "PHA", "practice", EXPIRED),
    AgreementPlan("RUIKANG", "MIT", "both", IN_FORCE),
    AgreementPlan("RUIKANG", "MLT", "teaching", IN_FORCE),
    AgreementPlan("YIXIN", None, "teaching", IN_FORCE),
    AgreementPlan("HUACE", "MLT", "both", IN_FORCE),
    AgreementPlan("YZ-CDC", None, "practice", IN_FORCE, years=5),
)

# Common surnames and given names, with the pinyin used for e-mail addresses.
SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("高", "gao"), ("林", "lin"), ("罗", "luo"),
    ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"),
    ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"),
    ("袁", "yuan"), ("蒋", "jiang"), ("蔡", "cai"), ("叶", "ye"), ("程", "cheng"),
)  # fmt: skip
GIVEN_NAMES = (
    ("丽", "li"), ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"),
    ("静", "jing"), ("磊", "lei"), ("强", "qiang"), ("军", "jun"), ("洋", "yang"),
    ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("涛", "tao"), ("明", "ming"),
    ("超", "chao"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("琳", "lin"),
    ("慧", "hui"), ("颖", "ying"), ("博", "bo"), ("凯", "kai"), ("晨", "chen"),
    ("秀英", "xiuying"), ("建华", "jianhua"), ("晓燕", "xiaoyan"), ("海燕", "haiyan"),
    ("志强", "zhiqiang"), ("文静", "wenjing"), ("婷婷", "tingting"), ("子涵", "zihan"),
    ("雨欣", "yuxin"), ("浩然", "haoran"), ("欣怡", "xinyi"), ("俊杰", "junjie"),
    ("佳怡", "jiayi"), ("思远", "siyuan"), ("红梅", "hongmei"), ("立新", "lixin"),
    ("宇航", "yuhang"), ("春燕", "chunyan"), ("振华", "zhenhua"), ("国庆", "guoqing"),
)  # fmt: skip


# --- the college being built --------------------------------------------------


@dataclass
class DemoCollege:
    """What the steps have created so far; later steps read what earlier ones made."""

    today: date
    admin: User | None = None
    departments: dict[str, Department] = field(default_factory=dict)
    enterprises: dict[str, Enterprise] = field(default_factory=dict)
    agreements: list[Agreement] = field(default_factory=list)
    current_period: Period | None = None
    previous_period: Period | None = None
    heads: dict[str, list[User]] = field(default_factory=dict)  # by department code
    teachers: dict[str, list[User]] = field(default_factory=dict)  # by department code
    experts: dict[str, list[User]] = field(default_factory=dict)  # by enterprise code
    _used_names: set[str] = field(default_factory=set)
    _used_emails: set[str] = field(default_factory=set)
    _used_staff_numbers: set[str] = field(default_factory=set)
    # Staff numbers draw from a generator of their own, so that they leave the names and
    # everything else the steps draw unchanged.
    _staff_rng: random.Random = field(
        default_factory=lambda: random.Random(f"{SEED}:staff-numbers")
    )

    def rng(self, step: str) -> random.Random:
        """A generator of its own for each step: steps do not disturb each other."""
        return random.Random(f"{SEED}:{step}")

    @property
    def actor(self) -> User:
        if self.admin is None:
            raise RuntimeError("the admin is created by the first step")
        return self.admin

    def person_name(self, rng: random.Random) -> tuple[str, str]:
        """A fresh Chinese name and the e-mail address built from its pinyin."""
        while True:
            (surname, surname_py), (given, given_py) = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
            name = surname + given
            if name not in self._used_names:
                break
        self._used_names.add(name)
        local, n = f"{surname_py}.{given_py}", 1
        while f"{local}@example.com" in self._used_emails:
            n += 1
            local = f"{surname_py}.{given_py}{n}"
        email = f"{local}@example.com"
        self._used_emails.add(email)
        return name, email

    def staff_number(self, role: Role, enterprise: Enterprise | None) -> str | None:
        """A believable staff number: the college's staff carry their year of hiring and
        a sequence ("T2019034" for teachers and heads, "A2011007" for administrators);
        experts of partner hospitals the number the hospital gave them for the college's
        payroll ("YZ-FPH-4127"); other experts none (paid through their company)."""
        rng = self._staff_rng
        while True:
            if role is Role.EXPERT:
                if enterprise is None or enterprise.kind != "hospital":
                    return None
                number = f"{enterprise.code}-{rng.randint(1000, 9999)}"
            else:
                prefix = "A" if role is Role.ADMIN else "T"
                hired = rng.randint(self.today.year - 25, self.today.year - 1)
                number = f"{prefix}{hired}{rng.randint(1, 120):03d}"
            if number not in self._used_staff_numbers:
                self._used_staff_numbers.add(number)
                return number

    def add_user(
        self,
        role: Role,
        name: str,
        email: str,
        department: Department | None = None,
        enterprise: Enterprise | None = None,
    ) -> User:
        return create_user(
            self.admin,  # None for the admin itself: created as by the command line
            UserInput(
                email=email,
                name=name,
                role=role.value,
                department_id=department.id if department else None,
                enterprise_id=enterprise.id if enterprise else None,
                password=DEMO_PASSWORD,
                staff_number=self.staff_number(role, enterprise),
            ),
        )


# --- the steps ------------------------------------------------------------------


def add_admin(college: DemoCollege) -> None:
    name, _ = college.person_name(college.rng("admin"))
    college.admin = college.add_user(Role.ADMIN, name, ADMIN_EMAIL)


def add_departments(college: DemoCollege) -> None:
    for plan in DEPARTMENTS:
        department = save_department(college.actor, DepartmentInput(plan.code, plan.name))
        college.departments[plan.code] = department


def add_enterprises(college: DemoCollege) -> None:
    for plan in ENTERPRISES:
        enterprise = save_enterprise(
            college.actor,
            EnterpriseInput(
                code=plan.code,
                name=plan.name,
                kind=plan.kind,
                contact_person=plan.contact_person,
                phone=plan.phone,
                address=plan.address,
            ),
        )
        college.enterprises[plan.code] = enterprise


def academic_year(day: date) -> tuple[str, date, date]:
    """Academic years run 1 September to 31 August: ``2025-2026``."""
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}", date(first, 9, 1), date(first + 1, 8, 31)


def add_periods(college: DemoCollege) -> None:
    """This academic year (open) and the previous one (locked by the last step)."""
    name, starts_on, ends_on = academic_year(college.today)
    previous = academic_year(starts_on - timedelta(days=1))
    college.previous_period = save_period(college.actor, PeriodInput(*previous))
    college.current_period = save_period(college.actor, PeriodInput(name, starts_on, ends_on))


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def add_agreements(college: DemoCollege) -> None:
    """Contracts signed before the previous period, so both periods are covered.

    One ends within the dashboard's 60-day warning window, one has lapsed.
    """
    rng = college.rng("agreements")
    assert college.previous_period is not None  # noqa: S101 - add_periods runs first
    signed_before = college.previous_period.starts_on
    numbers: dict[int, int] = {}
    for plan in AGREEMENTS:
        starts_on = signed_before - timedelta(days=rng.randint(30, 200))
        if plan.status == EXPIRING:
            ends_on = college.today + timedelta(days=45)
        elif plan.status == EXPIRED:
            ends_on = college.today - timedelta(days=120)
        else:
            ends_on = _add_years(starts_on, plan.years) - timedelta(days=1)
        numbers[starts_on.year] = numbers.get(starts_on.year, 0) + 1
        department = college.departments[plan.department] if plan.department else None
        agreement = save_agreement(
            college.actor,
            AgreementInput(
                enterprise_id=college.enterprises[plan.enterprise].id,
                department_id=department.id if department else None,
                reference=f"XQHZ-{starts_on.year}-{numbers[starts_on.year]:03d}",
                starts_on=starts_on,
                ends_on=ends_on,
                scope=plan.scope,
            ),
        )
        college.agreements.append(agreement)


def add_people(college: DemoCollege) -> None:
    """Heads and teachers per department, experts per enterprise.

    The first head and teacher of the first department and the first expert of
    the first enterprise get the easy-to-type addresses printed after seeding.
    """
    rng = college.rng("people")
    featured = {Role.HEAD: HEAD_EMAIL, Role.TEACHER: TEACHER_EMAIL, Role.EXPERT: EXPERT_EMAIL}
    for plan in DEPARTMENTS:
        department = college.departments[plan.code]
        for role, count, by_department in (
            (Role.HEAD, plan.heads, college.heads),
            (Role.TEACHER, plan.teachers, college.teachers),
        ):
            people = by_department.setdefault(plan.code, [])
            for _ in range(count):
                name, email = college.person_name(rng)
                email = featured.pop(role, email)
                people.append(college.add_user(role, name, email, department=department))
    for enterprise_plan in ENTERPRISES:
        enterprise = college.enterprises[enterprise_plan.code]
        experts = college.experts.setdefault(enterprise_plan.code, [])
        for _ in range(enterprise_plan.experts):
            name, email = college.person_name(rng)
            email = featured.pop(Role.EXPERT, email)
            experts.append(college.add_user(Role.EXPERT, name, email, enterprise=enterprise))


# How the demo's logs end up, per hundred: most are approved, every state is there.
LOG_OUTCOMES = (
    ("approved", 58),
    ("verified", 10),
    ("submitted", 10),
    ("draft", 8),
    ("rejected", 9),
    ("revoked", 5),
)
PRACTICE_NOTES = {
    "clinical": "跟随心内科团队查房，参与病例讨论与护理计划制定。",
    "technical_training": "参加新型血气分析仪操作与质控培训。",
    "joint_research": "与检验科合作整理耐药菌监测数据，讨论课题方案。",
    "process_study": "学习药房调剂与处方审核流程，记录可用于教学的案例。",
    "management": "参与科室质量管理例会，了解不良事件上报流程。",
    "other": "参观医院信息中心，了解电子病历系统的应用。",
}
TEACHING_NOTES = {
    "lecture": "讲授临床常见病例的诊疗思路，结合真实病例分析。",
    "lab": "指导学生完成实验操作并讲解仪器使用规范。",
    "workshop": "组织工作坊：医疗器械使用中的风险识别。",
    "clinical_teaching": "床旁带教，示范规范的体格检查。",
    "mentoring": "指导毕业设计选题与文献检索。",
    "other": "介绍行业发展与岗位能力要求。",
}
COURSES = ("内科学", "护理学基础", "药理学", "临床检验基础", "医学影像诊断", "药事管理")
REJECT_REASONS = ("时长与签到记录不符。", "请补充工作内容说明。", "日期有误，请核对后重新提交。")


def _pick_outcome(rng: random.Random) -> str:
    roll, total = rng.randrange(100), 0
    for status, share in LOG_OUTCOMES:
        total += share
        if roll < total:
            return status
    return "approved"


def _work_days(rng: random.Random, period: Period, today: date, count: int) -> list[date]:
    """Distinct past working days of the period, at most ``count``."""
    last = min(period.ends_on, today)
    days = [
        period.starts_on + timedelta(days=n)
        for n in range((last - period.starts_on).days + 1)
        if (period.starts_on + timedelta(days=n)).weekday() < 6
    ]
    return sorted(rng.sample(days, min(count, len(days))))


@contextmanager
def _believable_times(now: datetime) -> Iterator[None]:
    """Give the audit trails written inside believable times: the work day, then a day
    or two per step, never later than now. The trail is append-only, so each entry gets
    its time as it is written."""
    steps: dict[int, int] = {}

    def stamp(_mapper: object, _connection: object, entry: LogEvent) -> None:
        log = entry.log
        step = steps.get(log.id, 0)
        steps[log.id] = step + 1
        moment = datetime.combine(log.work_date, time(10, 0), tzinfo=UTC)
        entry.at = min(moment + step * timedelta(days=1, hours=3), now)

    event.listen(LogEvent, "before_insert", stamp)
    try:
        yield
    finally:
        event.remove(LogEvent, "before_insert", stamp)


def _walk(college: DemoCollege, log: ExchangeLog, outcome: str, rng: random.Random) -> None:
    """Take a new draft to ``outcome`` the way real people would."""
    owner = log.owner
    if outcome == "draft":
        return
    transition(owner, log, Action.SUBMIT)
    if outcome == "submitted":
        return
    if outcome == "rejected" and rng.random() < 0.5:
        _verify(log, rng, reject=True)
        return
    _verify(log, rng)
    if outcome == "verified":
        return
    approver = _approver(college, log)
    if outcome == "rejected":
        transition(approver, log, Action.REJECT, rng.choice(REJECT_REASONS))
        return
    transition(approver, log, Action.APPROVE)
    if outcome == "revoked":
        transition(college.actor, log, Action.REVOKE, "复核发现与考勤记录重复。")


def _verify(log: ExchangeLog, rng: random.Random, *, reject: bool = False) -> None:
    reason = rng.choice(REJECT_REASONS) if reject else None
    if log.verifier is not None:
        transition(log.verifier, log, Action.REJECT if reject else Action.VERIFY, reason)
        return
    token, _ = issue_confirmation_link(log.owner, log)
    confirmer = rng.choice(("赵医生", "钱护士长", "孙主任", "李工程师"))
    confirm_onsite(token, OnsiteDecision(confirmer, "带教老师", not reject, reason))


def _approver(college: DemoCollege, log: ExchangeLog) -> User:
    heads = [h for h in college.heads.get(log.department.code, []) if h.id != log.owner_id]
    return heads[0] if heads else college.actor


def _log_input(college: DemoCollege, owner: User, day: date, rng: random.Random) -> LogInput | None:
    """A believable log for ``owner`` on ``day`` at a partner with an agreement in force."""
    if owner.role == Role.EXPERT:
        departments = [
            d for d in college.departments.values()
            if db.session.execute(
                agreements_in_force(day, LogKind.TEACHING, d.id, owner.enterprise_id).limit(1)
            ).first()
        ]  # fmt: skip
        if not departments:
            return None
        department = rng.choice(departments)
        category = rng.choice(TEACHING_CATEGORIES)
        hosts = college.teachers.get(department.code, []) + college.heads.get(department.code, [])
        return LogInput(
            work_date=day,
            hours=rng.choice(("1.5", "2", "2", "3", "4")),
            category=category,
            description=TEACHING_NOTES[category],
            department_id=department.id,
            course=rng.choice(COURSES),
            cohort=f"{day.year % 100}级{rng.randint(1, 4)}班",
            students=rng.randint(25, 60),
            verifier_id=rng.choice(hosts).id if hosts and rng.random() < 0.8 else None,
        )
    agreements = (
        db.session.execute(
            agreements_in_force(day, LogKind.PRACTICE, owner.department_id)  # type: ignore[arg-type]
        )
        .scalars()
        .all()
    )
    if not agreements:
        return None
    enterprise_id = rng.choice(agreements).enterprise_id
    experts = next(
        (people for code, people in college.experts.items()
         if college.enterprises[code].id == enterprise_id),
        [],
    )  # fmt: skip
    category = rng.choice(PRACTICE_CATEGORIES)
    return LogInput(
        work_date=day,
        hours=rng.choice(("2", "3", "4", "4", "6", "8")),
        category=category,
        description=PRACTICE_NOTES[category],
        enterprise_id=enterprise_id,
        verifier_id=rng.choice(experts).id if experts and rng.random() < 0.8 else None,
    )


def add_logs(college: DemoCollege) -> None:
    """Logs in every state over both periods, most of them approved."""
    rng = college.rng("logs")
    now = datetime.now(UTC)
    people = [
        *(p for group in college.heads.values() for p in group),
        *(p for group in college.teachers.values() for p in group),
        *(p for group in college.experts.values() for p in group),
    ]
    featured = {HEAD_EMAIL, TEACHER_EMAIL, EXPERT_EMAIL}
    # One teacher past every threshold this year, up to the allowance's cap.
    tireless_teacher = list(college.teachers.values())[1][0]
    with _believable_times(now):
        _add_logs(college, rng, people, featured, tireless_teacher)
    db.session.flush()


def _add_logs(
    college: DemoCollege,
    rng: random.Random,
    people: list[User],
    featured: set[str],
    tireless_teacher: User,
) -> None:
    for period in (college.previous_period, college.current_period):
        assert period is not None  # noqa: S101 - add_periods runs first
        current = period is college.current_period
        for owner in people:
            # The printed demo accounts show one log in every state.
            every_state = current and owner.email in featured
            count = len(LOG_OUTCOMES) + 2 if every_state else rng.randint(3, 9)
            tireless = current and owner is tireless_teacher
            if tireless:
                count = 30
            for n, day in enumerate(_work_days(rng, period, college.today, count)):
                data = _log_input(college, owner, day, rng)
                if data is None:
                    continue
                if tireless:
                    data = replace(data, hours="8")
                log, _ = create_log(owner, data)
                if tireless:
                    outcome = "approved"
                elif every_state:
                    outcome = LOG_OUTCOMES[n % len(LOG_OUTCOMES)][0]
                else:
                    outcome = _pick_outcome(rng) if current else "approved"
                _walk(college, log, outcome, rng)
                log.created_at = log.events[0].at


def add_reward_rounds(college: DemoCollege) -> None:
    """Last year's rewards, decided and issued: every department's round and the
    college round are finalized, with one award rejected to show what that looks like.
    This year's round of the first department is open as a preview: it can be
    refreshed and decided all year, and finalized once the year is over."""
    assert college.previous_period is not None  # noqa: S101 - add_periods runs first
    assert college.current_period is not None  # noqa: S101
    rejected_one = False
    last_year = college.previous_period.id
    rounds = [open_round(college.actor, d.id, last_year) for d in college.departments.values()]
    rounds.append(open_round(college.actor, None, last_year, scope="college"))
    for reward_round in rounds:
        for award in reward_round.awards:
            if not rejected_one and award.amount_minor:
                decide_award(college.actor, award, False, "超出本学年津贴预算，转入下一学年。")
                rejected_one = True
            else:
                decide_award(college.actor, award, True)
        finalize_round(college.actor, reward_round)
    first = next(iter(college.departments.values()))
    open_round(college.actor, first.id, college.current_period.id)


def lock_previous_period(college: DemoCollege) -> None:
    """Last: nothing can be added to a locked period."""
    assert college.previous_period is not None  # noqa: S101 - add_periods runs first
    lock_period(college.actor, college.previous_period)


Step = Callable[[DemoCollege], None]

STEPS: list[Step] = [
    add_admin,
    add_departments,
    add_enterprises,
    add_periods,
    add_agreements,
    add_people,
    add_logs,
    add_reward_rounds,
    # new steps go here
    lock_previous_period,
]


# --- running it -------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    name: str
    affiliation: str  # department or enterprise code, or ""


@dataclass(frozen=True)
class SeedResult:
    created: bool  # False: the demo was already there and nothing changed
    logins: list[DemoLogin]
    counts: dict[str, int]
    password: str = DEMO_PASSWORD


def demo_exists() -> bool:
    return find_user_by_email(ADMIN_EMAIL) is not None


def check_no_conflicts(today: date) -> None:
    """Refuse, before writing anything, to seed over real records with the same codes."""
    problems = []
    codes = [plan.code for plan in DEPARTMENTS]
    taken = db.session.execute(
        select(Department.code).where(func.upper(Department.code).in_(codes))
    ).scalars()
    problems += [f"department {code}" for code in taken]
    codes = [plan.code for plan in ENTERPRISES]
    taken = db.session.execute(
        select(Enterprise.code).where(func.upper(Enterprise.code).in_(codes))
    ).scalars()
    problems += [f"enterprise {code}" for code in taken]
    _, starts_on, ends_on = academic_year(today)
    overlapping = db.session.execute(
        select(Period.name).where(
            Period.starts_on <= ends_on, Period.ends_on >= _add_years(starts_on, -1)
        )
    ).scalars()
    problems += [f"period {name}" for name in overlapping]
    for email in (HEAD_EMAIL, TEACHER_EMAIL, EXPERT_EMAIL):
        if find_user_by_email(email) is not None:
            problems.append(f"user {email}")
    if problems:
        raise DemoConflict(
            "The database already holds "
            + ", ".join(problems)
            + ". seed-demo fills an empty database; use a fresh one for the demo."
        )


def seed_demo(today: date | None = None) -> SeedResult:
    """Create the demo college, or find it already there. The caller commits."""
    if not demo_exists():
        today = today or college_today()
        check_no_conflicts(today)
        college = DemoCollege(today=today)
        for step in STEPS:
            step(college)
        db.session.flush()
        return SeedResult(created=True, logins=demo_logins(), counts=demo_counts())
    return SeedResult(created=False, logins=demo_logins(), counts=demo_counts())


def demo_logins() -> list[DemoLogin]:
    logins = []
    for email in (ADMIN_EMAIL, HEAD_EMAIL, TEACHER_EMAIL, EXPERT_EMAIL):
        user = find_user_by_email(email)
        if user is None:  # deleted or renamed since seeding
            continue
        place = user.department or user.enterprise
        logins.append(DemoLogin(user.role, user.email, user.name, place.code if place else ""))
    return logins


def demo_counts() -> dict[str, int]:
    def count(model: type) -> int:
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()

    return {
        "departments": count(Department),
        "enterprises": count(Enterprise),
        "agreements": count(Agreement),
        "periods": count(Period),
        "people": count(User),
        "logs": count(ExchangeLog),
    }
