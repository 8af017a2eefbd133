"""Done when (issue 13): a badge issued by Exchange verifies as valid in an independent,
widely used verifier that knows only Exchange's published DID document; after an admin
revokes the award the same verifier says revoked; a tampered credential fails.

The verifier is did-jwt-vc + did-jwt + did-resolver, with the status list decoded by
@digitalbazaar/vc-bitstring-status-list (tests/verifier/, installed into .verifier/ by
scripts/ensure-verifier, which `make test` runs). Exchange is served for real on a free
port of 127.0.0.1, with EXCHANGE_BASE_URL its own address, so its did:web names it.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from exchange.credentials import baking
from exchange.extensions import db
from exchange.rewards import services
from exchange.timeutil import college_today
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
VERIFIER = ROOT / ".verifier"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node (make verifier)")


@pytest.fixture(scope="module")
def verifier() -> Path:
    if not (VERIFIER / "node_modules").is_dir() or not (VERIFIER / "verify.mjs").is_file():
        subprocess.run([str(ROOT / "scripts" / "ensure-verifier")], check=True)  # noqa: S603
    return VERIFIER / "verify.mjs"


@pytest.fixture
def served(make_app):
    """Exchange on a free loopback port, its base URL that very address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    origin = f"http://127.0.0.1:{port}"
    live = make_app(EXCHANGE_BASE_URL=origin)
    server = make_server("127.0.0.1", port, live, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield live, origin
    server.shutdown()
    thread.join()


def run(verifier: Path, origin: str, file: Path) -> dict:
    done = subprocess.run(  # noqa: S603
        ["node", str(verifier), origin, str(file)],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_independent_verifier_accepts_then_sees_the_revocation(
    served, verifier, college, make_log, tmp_path
):
    live, origin = served
    for n in range(5):
        make_log(
            college.teacher, status="approved", hours="8", work_date=college_today() - timedelta(n)
        )
    with live.app_context():
        reward_round = services.open_round(college.admin, college.department.id, college.period.id)
        for award in reward_round.awards:
            services.decide_award(college.admin, award, True)
        services.finalize_round(college.admin, reward_round, early=True)
        honour = next(a for a in reward_round.awards if a.rule.code == "practice-cert")
        award_id = honour.id
        db.session.commit()
        db.session.remove()

    holder = live.test_client()
    assert (
        holder.post(
            "/login", data={"email": college.teacher.email, "password": PASSWORD}
        ).status_code
        == 302
    )
    png = holder.get(f"/rewards/awards/{award_id}/badge.png")
    assert png.status_code == 200
    badge = tmp_path / "badge.png"
    badge.write_bytes(png.data)

    verdict = run(verifier, origin, badge)
    assert verdict == {"status": "valid", "name": "Li Na"}, verdict

    # Tampered: the holder's name changed inside the baked credential.
    token = baking.read_png(png.data)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["name"] = "Mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    tampered = tmp_path / "tampered.png"
    tampered.write_bytes(baking.bake_png(png.data, f"{header}.{forged}.{signature}"))
    verdict = run(verifier, origin, tampered)
    assert verdict["status"] == "invalid", verdict
    assert "signature" in verdict["error"].lower(), verdict

    admin = live.test_client()
    token_answer = admin.post(
        "/api/v1/tokens", json={"email": college.admin.email, "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {token_answer.get_json()['token']}"}
    revoked = admin.post(
        f"/api/v1/awards/{award_id}/revoke", headers=headers, json={"reason": "Hours withdrawn."}
    )
    assert revoked.status_code == 200

    verdict = run(verifier, origin, badge)
    assert verdict == {"status": "revoked", "name": "Li Na"}, verdict
