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
    for n, section in enumerate(phone.locator("section.record__section").all()):
        section.screenshot(path=f"/tmp/record-{who}-{locale}-s{n}.png")
    phone.emulate_media(media="print")
    phone.screenshot(path=f"/tmp/record-{who}-{locale}-print.png", full_page=True)


def test_print(browser, live_server, record):  # noqa: F811
    college, _a, _d = record
    context = browser.new_context(base_url=live_server, viewport={"width": 703, "height": 1000})
    page = context.new_page()
    _sign_in(page, college.teacher)
    page.goto("/me/record")
    page.emulate_media(media="print")
    page.screenshot(path="/tmp/record-print-a4.png", full_page=True)
    page.pdf(path="/tmp/record.pdf", format="A4")
    context.close()
