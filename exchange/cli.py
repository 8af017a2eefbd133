"""Command line: ``flask --app exchange create-user | seed-demo | backup``."""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    pass
