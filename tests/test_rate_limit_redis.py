"""Login throttling is shared between gunicorn workers when it counts in Redis.

Two separate processes stand in for two workers: what one counts, the other sees.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/0"

WORKER = """
import json, sys
from exchange import create_app
config = json.loads(sys.argv[1])
client = create_app(config).test_client()
codes = [client.post("/login", data={"email": "x@example.com", "password": "nope"}).status_code
         for _ in range(int(sys.argv[2]))]
print(json.dumps(codes))
"""


@pytest.fixture
def redis_prefix():
    prefix = f"exchange-test-{uuid.uuid4().hex}"
    yield prefix
    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(f"*{prefix}*"):
        connection.delete(key)


def _worker(config: dict, attempts: int) -> list[int]:
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", WORKER, json.dumps(config), str(attempts)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_attempts_counted_by_one_worker_throttle_the_other(app, redis_prefix):
    config = {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": redis_prefix,
        "EXCHANGE_LOGIN_LIMIT": "3 per minute",
    }
    assert _worker(config, 3) == [200, 200, 200]
    assert _worker(config, 1) == [429]
