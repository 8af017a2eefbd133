"""The people of a seeded college at work, for ``bench/load.py`` (locust).

Teachers log practice hours and submit them, verify the experts' teaching
hours and read their lists; experts log teaching hours and verify the
teachers' practice; heads approve, one by one or several at once. Everybody
signs in twice: through the sign-in page (for the pages they read) and for an
API token (for the hours they log and the steps they take).

Each create carries a unique ``client_id``. Every answer that names a log is
recorded (its id, version, status and audit trail as the client was told), and
so is every create the server never acknowledged, so that ``bench/load.py`` can
hold the database to what the clients were told.

The plan (accounts, places, verifiers) comes from ``LOAD_PLAN``; the records go
to ``LOAD_RECORDS`` (one JSON object a line) when the run stops. Not meant to
be run on its own: ``bench/load.py`` seeds the college and starts the servers.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from gevent import GreenletExit
from locust import HttpUser, between, events, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["LOAD_PLAN"]).read_text(encoding="utf-8"))
RECORDS: list[dict[str, Any]] = []
STATUS_CODES: Counter[int] = Counter()
LOCKED_IN_RESPONSES = 0
ACCOUNTS = {role: list(PLAN[role]) for role in ("teachers", "experts", "heads")}
TAKEN = {role: itertools.count() for role in ACCOUNTS}  # one account each, while they last
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# Answers that are part of the work, not failures: a log that somebody else changed
# first (409), a day already full or a verifier who moved on (422).
EXPECTED = {409, 422}


@events.request.add_listener
def _count(
    request_type: str = "", name: str = "", response=None, exception=None, **_kwargs: Any
) -> None:
    global LOCKED_IN_RESPONSES
    if response is None or exception is not None and not getattr(response, "status_code", 0):
        STATUS_CODES[0] += 1  # no answer at all: the connection broke
        RECORDS.append({"type": "cut", "request": f"{request_type} {name}"})
        return
    STATUS_CODES[response.status_code] += 1
    if response.status_code >= 400 and "database is locked" in (response.text or ""):
        LOCKED_IN_RESPONSES += 1


@events.quitting.add_listener
def _write_records(environment: Any, **_kwargs: Any) -> None:
    """Once every simulated person has stopped, so no answer comes after the records."""
    total = environment.stats.total
    summary = {
        "type": "summary",
        "requests": total.num_requests,
        "failures": total.num_failures,
        "median_ms": total.get_response_time_percentile(0.5),
        "p95_ms": total.get_response_time_percentile(0.95),
        "rps": total.total_rps,
        "status_codes": {str(code): n for code, n in sorted(STATUS_CODES.items())},
        "locked_in_responses": LOCKED_IN_RESPONSES,
        # A task that failed on an answer of an unexpected shape, or any other surprise.
        "task_errors": sum(e["count"] for e in environment.runner.exceptions.values())
        + sum(1 for r in RECORDS if r["type"] == "odd"),
    }
    with open(os.environ["LOAD_RECORDS"], "w", encoding="utf-8") as out:
        out.write(json.dumps(summary) + "\n")
        for record in RECORDS:
            out.write(json.dumps(record) + "\n")


def _day() -> str:
    """A working day of the open period, up to today: spread wide, so that the
    12-hour daily limit is seldom reached."""
    first, last = date.fromisoformat(PLAN["first_day"]), date.fromisoformat(PLAN["last_day"])
    return (first + timedelta(days=random.randrange((last - first).days + 1))).isoformat()


class Member(HttpUser):
    abstract = True
    wait_time = between(0.2, 1.0)
    role = ""

    def on_start(self) -> None:
        accounts = ACCOUNTS[self.role]
        self.account = accounts[next(TAKEN[self.role]) % len(accounts)]
        self.drafts: list[int] = []
        self.api: dict[str, str] = {}
        # Like a person on a phone, try again when the connection breaks (a worker killed).
        for _attempt in range(3):
            if self.sign_in():
                return

    def sign_in(self) -> bool:
        # The pages: a session cookie from the sign-in form.
        page = self.client.get("/login", name="/login")
        token = CSRF.search(page.text or "")
        signed_in = self.client.post(
            "/login",
            data={
                "email": self.account["email"],
                "password": PLAN["password"],
                "csrf_token": token.group(1) if token else "",
            },
            name="/login",
        )
        # The API: a bearer token.
        answer = self.client.post(
            "/api/v1/tokens",
            json={"email": self.account["email"], "password": PLAN["password"]},
            name="/api/v1/tokens",
        )
        if answer.status_code == 201:
            self.api = {"Authorization": f"Bearer {answer.json()['token']}"}
        return signed_in.status_code == 200 and answer.status_code == 201

    # --- what every answer about a log teaches the checks ---------------------

    def _remember(self, body: dict[str, Any], request: str) -> None:
        if "id" not in body:
            RECORDS.append({"type": "odd", "request": request, "body": body})
            return
        RECORDS.append(
            {
                "type": "answer",
                "request": request,
                "log_id": body["id"],
                "version": body["version"],
                "status": body["status"],
                "client_id": body.get("client_id"),
                "history": [[e["action"], e["to_status"]] for e in body["history"]]
                if "history" in body
                else None,
            }
        )

    def _call(self, method: str, path: str, name: str, refused: Any = None, **kwargs: Any) -> Any:
        """One API call: expected refusals are not failures (``refused`` hears of them);
        the JSON body of a success, or None."""
        try:
            return self._send(method, path, name, refused, **kwargs)
        except GreenletExit:
            # The run ended while it was on its way: never answered, like a cut one.
            RECORDS.append({"type": "stopped", "request": f"{method} {name}"})
            raise

    def _send(self, method: str, path: str, name: str, refused: Any, **kwargs: Any) -> Any:
        with self.client.request(
            method, path, headers=self.api, name=name, catch_response=True, **kwargs
        ) as response:
            if response.status_code in EXPECTED:
                response.success()
                if refused:
                    refused(response.status_code)
            if not 200 <= response.status_code < 300:
                return None  # refused, failed or cut off (locust counts it)
            try:
                return response.json()
            except ValueError:
                response.failure("not JSON")
                return None

    # --- the work ------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> None:
        client_id = str(uuid.uuid4())
        body |= {"date": _day(), "hours": random.choice([1, 1.5, 2, 3]), "client_id": client_id}
        body["submit"] = random.random() < 0.5
        # Recorded before it is sent: a create never answered may exist or not, but whole.
        RECORDS.append({"type": "sent", "client_id": client_id})
        answer = self._call(
            "POST",
            "/api/v1/logs",
            "/api/v1/logs [create]",
            refused=lambda status: RECORDS.append(
                {"type": "refused", "client_id": client_id, "status": status}
            ),
            json=body,
        )
        if answer is None:
            return
        RECORDS.append({"type": "accepted", "client_id": client_id, "log_id": answer["id"]})
        self._remember(answer, "create")
        if answer["status"] == "draft":
            self.drafts.append(answer["id"])

    def step(self, log_id: int, action: str) -> None:
        answer = self._call(
            "POST",
            f"/api/v1/logs/{log_id}/{action}",
            f"/api/v1/logs/id/{action}",
            json={"reason": "The hours do not match the rota."} if action == "reject" else {},
        )
        if answer is not None:
            self._remember(answer, action)

    def first_of(self, query: str) -> list[int]:
        answer = self._call("GET", f"/api/v1/logs?{query}", f"/api/v1/logs?{query}")
        return [item["id"] for item in (answer or {}).get("items", [])]

    def submit_a_draft(self) -> None:
        if self.drafts:
            self.step(self.drafts.pop(random.randrange(len(self.drafts))), "submit")

    def verify_one(self) -> None:
        waiting = self.first_of("scope=verify&status=submitted")
        if waiting:
            self.step(random.choice(waiting[:5]), random.choice(["verify"] * 9 + ["reject"]))


class Teacher(Member):
    weight = PLAN["weights"]["teachers"]
    role = "teachers"

    @task(4)
    def log_practice(self) -> None:
        place = random.choice(self.account["places"])
        self.create(
            {
                "kind": "practice",
                "category": "clinical",
                "description": "Ward rounds and case review with the clinical team.",
                "enterprise_id": place["id"],
                "verifier_id": random.choice(place["verifiers"]),
            }
        )

    @task(2)
    def submit(self) -> None:
        self.submit_a_draft()

    @task(1)
    def verify(self) -> None:
        self.verify_one()

    @task(3)
    def read(self) -> None:
        self.client.get("/", name="/ (dashboard)")
        self.client.get("/logs/", name="/logs/")
        self._call("GET", "/api/v1/logs", "/api/v1/logs")


class Expert(Member):
    weight = PLAN["weights"]["experts"]
    role = "experts"

    @task(3)
    def log_teaching(self) -> None:
        place = random.choice(self.account["places"])
        self.create(
            {
                "kind": "teaching",
                "category": "lecture",
                "description": "Pharmacology lecture for the second-year cohort.",
                "department_id": place["id"],
                "course": "Clinical pharmacology",
                "students": random.randint(10, 60),
                "verifier_id": random.choice(place["verifiers"]),
            }
        )

    @task(1)
    def submit(self) -> None:
        self.submit_a_draft()

    @task(4)
    def verify(self) -> None:
        self.verify_one()

    @task(2)
    def read(self) -> None:
        self.client.get("/logs/verify", name="/logs/verify")
        self._call("GET", "/api/v1/logs?scope=verify", "/api/v1/logs?scope=verify")


class Head(Member):
    weight = PLAN["weights"]["heads"]
    role = "heads"

    @task(4)
    def approve_one(self) -> None:
        waiting = self.first_of("scope=approve&status=verified")
        if waiting:
            self.step(random.choice(waiting[:5]), "approve")

    @task(2)
    def approve_several(self) -> None:
        waiting = self.first_of("scope=approve&status=verified")
        if not waiting:
            return
        answer = self._call(
            "POST", "/api/v1/logs/approve", "/api/v1/logs/approve", json={"ids": waiting[:5]}
        )
        for result in (answer or {}).get("results", []):
            if result["ok"]:
                self._remember(result["log"], "approve (several)")

    @task(2)
    def read(self) -> None:
        self.client.get("/logs/approve", name="/logs/approve")
        self.client.get("/", name="/ (dashboard)")
