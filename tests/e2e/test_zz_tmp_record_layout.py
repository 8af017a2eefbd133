# Temporary check of /me/record on a phone (deleted after use).
import pytest

from exchange.extensions import db
from tests.e2e.test_phone_layout import LAYOUT_PROBLEMS, _sign_in
from tests.test_personal_record import earlier, record  # noqa: F401


@pytest.mark.parametrize("who", ["teacher", "expert", "admin"])
@pytest.mark.parametrize("locale", [None, "zh_Hans"])
def test_record_fits(phone, record, who, locale):  # noqa: F811
    college, _a, _d = record
    user = getattr(college, who)
    user.locale = locale
    user.name = "Ouyang Xiaoming-Alexandra Konstantinopolous"
    db.session.commit()
    _sign_in(phone, user)
    for path in ("/me/record", f"/me/record?period={college.period.id}", "/account"):
        response = phone.goto(path)
        assert response.status == 200
        assert phone.evaluate(LAYOUT_PROBLEMS) == [], path
    phone.goto("/me/record")
    phone.screenshot(path=f"/tmp/record-{who}-{locale}.png", full_page=True)
    phone.emulate_media(media="print")
    phone.screenshot(path=f"/tmp/record-{who}-{locale}-print.png", full_page=True)
    phone.pdf(path=f"/tmp/record-{who}-{locale}.pdf") if False else None
