"""Lighthouse on the pages people open most, as a phone sees them (`make lighthouse`).

Seeds the demo college into a temporary SQLite database, serves it with gunicorn
(gunicorn.conf.py, production settings) on a loopback port, signs in as the demo
teacher, expert and head, and runs npm's Lighthouse (mobile form factor, its
simulated slow 4G and mid-range phone) driving Debian's Chromium three times on
each page, with the person's session cookie. Prints one table of medians beside
the targets: accessibility and best practices 100, performance ≥ 98, LCP ≤ 1.2 s,
CLS 0 and a first load of at most 20 KB transferred.

Lighthouse is installed with npm into .lighthouse/ the first time (LIGHTHOUSE_VERSION,
default 12), where the last report of each page is kept (`.lighthouse/<page>.json`, to
read why a figure is what it is). Loopback only; stops everything it starts. Not part
of `make test`.

    .venv/bin/python bench/lighthouse.py          # LIGHTHOUSE_RUNS=3, LIGHTHOUSE_PORT=8700
    LIGHTHOUSE_ONLY=approve .venv/bin/python bench/lighthouse.py   # the pages whose path has it
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import Browser, Gunicorn  # noqa: E402
from exchange.demo import (  # noqa: E402
    DEMO_PASSWORD,
    EXPERT_EMAIL,
    HEAD_EMAIL,
    TEACHER_EMAIL,
)

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / ".lighthouse"
VERSION = os.environ.get("LIGHTHOUSE_VERSION", "12")
RUNS = int(os.environ.get("LIGHTHOUSE_RUNS", "3"))
ONLY = os.environ.get("LIGHTHOUSE_ONLY", "")
PORT = int(os.environ.get("LIGHTHOUSE_PORT", "8700"))
CHROMIUM = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
SECRET = "lighthouse-secret-key-" + "k" * 40
FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)


@dataclass(frozen=True)
class Page:
    name: str
    who: str | None  # whose session opens it; None: anybody
    path: str


PAGES = [
    Page("log form `/logs/new`", "teacher", "/logs/new"),
    Page("dashboard `/`", "teacher", "/"),
    Page("my logs `/logs/`", "teacher", "/logs/"),
    Page("verify queue `/logs/verify`", "expert", "/logs/verify"),
    Page("approval queue `/logs/approve`", "head", "/logs/approve"),
    Page("eligibility `/rewards/eligibility`", "head", "/rewards/eligibility"),
    Page("certificate check `/verify/<code>`", None, "/verify/{code}"),
]


@dataclass
class Figures:
    accessibility: float
    best_practices: float
    seo: float
    performance: float
    lcp_ms: float
    cls: float
    transfer_bytes: float


def lighthouse() -> Path:
    cli = TOOL / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.exists():
        print(f"installing lighthouse@{VERSION} into {TOOL} …", flush=True)
        TOOL.mkdir(exist_ok=True)
        subprocess.run(  # noqa: S603 - fixed arguments
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(TOOL),
             f"lighthouse@{VERSION}"], check=True,
        )  # fmt: skip
    return cli


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run(  # noqa: S603 - our own CLI
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "exchange", *args],
        cwd=ROOT, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def run_once(cli: Path, url: str, cookie: str, folder: Path, report: Path) -> Figures:
    headers = folder / "headers.json"
    headers.write_text(json.dumps({"Cookie": cookie} if cookie else {}))
    subprocess.run(  # noqa: S603 - fixed arguments
        ["node", str(cli), url, f"--chrome-flags={FLAGS}", "--form-factor=mobile",
         "--only-categories=performance,accessibility,best-practices,seo",
         f"--extra-headers={headers}", "--output=json", f"--output-path={report}", "--quiet"],
        check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=180,
    )  # fmt: skip
    found = json.loads(report.read_text())
    if found.get("runtimeError"):
        raise RuntimeError(f"{url}: {found['runtimeError']}")
    if found["finalDisplayedUrl"].split("?")[0] != url.split("?")[0]:
        raise RuntimeError(f"{url} ended at {found['finalDisplayedUrl']} (not signed in?)")
    score = {name: (c["score"] or 0) * 100 for name, c in found["categories"].items()}
    audits = found["audits"]
    return Figures(
        accessibility=score["accessibility"],
        best_practices=score["best-practices"],
        seo=score["seo"],
        performance=score["performance"],
        lcp_ms=audits["largest-contentful-paint"]["numericValue"],
        cls=audits["cumulative-layout-shift"]["numericValue"],
        transfer_bytes=audits["total-byte-weight"]["numericValue"],
    )


def median(runs: list[Figures]) -> Figures:
    return Figures(
        *(statistics.median(getattr(r, f) for r in runs) for f in Figures.__annotations__)
    )


def table(results: dict[str, Figures]) -> list[str]:
    def mark(ok: bool) -> str:
        return "✓" if ok else "✗"

    lines = [
        "| page | accessibility | best practices | SEO | performance | LCP | CLS | first load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, f in results.items():
        lines.append(
            f"| {name} | {f.accessibility:.0f} {mark(f.accessibility == 100)} "
            f"| {f.best_practices:.0f} {mark(f.best_practices == 100)} | {f.seo:.0f} "
            f"| {f.performance:.0f} {mark(f.performance >= 98)} "
            f"| {f.lcp_ms / 1000:.2f} s {mark(f.lcp_ms <= 1200)} "
            f"| {f.cls:.3f} {mark(f.cls == 0)} "
            f"| {f.transfer_bytes / 1024:.1f} KB {mark(f.transfer_bytes <= 20 * 1024)} |"
        )
    lines.append("| target | 100 | 100 | — | ≥ 98 | ≤ 1.2 s | 0 | ≤ 20 KB |")
    return lines


def main() -> None:
    cli = lighthouse()
    version = subprocess.run(  # noqa: S603
        ["node", str(cli), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="exchange-lighthouse-") as scratch:
        folder = Path(scratch)
        database = folder / "exchange.db"
        env = {
            "DATABASE_URL": f"sqlite:///{database}", "EXCHANGE_INSTANCE_PATH": str(folder),
            "EXCHANGE_ENV": "production", "SECRET_KEY": SECRET,
            "EXCHANGE_BASE_URL": f"http://127.0.0.1:{PORT}", "EXCHANGE_SECURE_COOKIES": "0",
            "GUNICORN_LOG_LEVEL": "warning",
        }  # fmt: skip
        print("seeding the demo college …", flush=True)
        flask(env, "db", "upgrade")
        flask(env, "seed-demo", "--allow-production")
        with sqlite3.connect(database) as connection:
            code = connection.execute(
                "SELECT verification_code FROM award WHERE status = 'issued' LIMIT 1"
            ).fetchone()[0]
        with Gunicorn(PORT, 2, env, log=folder / "gunicorn.log") as server:
            server.wait_ready("/healthz")
            cookies = {}
            for who, email in (("teacher", TEACHER_EMAIL), ("expert", EXPERT_EMAIL),
                               ("head", HEAD_EMAIL)):  # fmt: skip
                browser = Browser(PORT)
                browser.sign_in(email, DEMO_PASSWORD)
                cookies[who] = browser.cookie_header
            results = {}
            for page in PAGES:
                if ONLY not in page.path:
                    continue
                url = f"http://127.0.0.1:{PORT}{page.path.format(code=code)}"
                cookie = cookies[page.who] if page.who else ""
                report = TOOL / f"{page.path.strip('/').replace('/', '-') or 'home'}.json"
                runs = [run_once(cli, url, cookie, folder, report) for _ in range(RUNS)]
                results[page.name] = median(runs)
                print(f"  {page.name}: done", flush=True)
    chromium = subprocess.run(  # noqa: S603
        [CHROMIUM, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    load = os.getloadavg()[0]
    print()
    print(f"Machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
          f"{chromium}, Lighthouse {version}, mobile form factor with its simulated "
          f"throttling, gunicorn with 2 workers, median of {RUNS} runs per page; "
          f"load average {load:.1f}.")  # fmt: skip
    print()
    print("\n".join(table(results)))


if __name__ == "__main__":
    main()
