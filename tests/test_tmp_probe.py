from flask import g
from exchange.extensions import db
def test_probe(app, client, make_user, api_token):
    g.marker = 1
    s = db.session()
    seen = {}
    @app.get("/probe-x")
    def probe():
        seen["g"] = getattr(g, "marker", None)
        seen["same"] = db.session() is s
        return "ok"
    probe.permission = "public"
    client.get("/probe-x")
    print(seen)
