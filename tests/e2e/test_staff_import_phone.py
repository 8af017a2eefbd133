"""The staff import on a 360 px phone: the upload page, and a preview with every kind
of row (long addresses, Chinese names, errors) in both languages."""

from __future__ import annotations

import pytest

from exchange.extensions import db
from tests.e2e.test_phone_layout import LAYOUT_PROBLEMS, _sign_in
from tests.test_staff_import import csv_bytes


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_the_import_preview_fits_a_phone(phone, college, locale):
    college.admin.locale = locale
    db.session.commit()
    _sign_in(phone, college.admin)
    phone.goto("/admin/users/import")
    assert phone.evaluate(LAYOUT_PROBLEMS) == []

    teacher = college.teacher
    data = csv_bytes(
        [
            ["a.really.long.address.for.a.new.colleague@clinical-medicine.example.edu",
             "欧阳明月", "教师", "CM", "", "T2024-000123"],
            [teacher.email, teacher.name, "head", "CM", "", "T2019034"],
            [college.expert.email, college.expert.name, "expert", "", "RMH", ""],
            ["not-an-address", "N" * 130, "dean", "NOPE", "", "T 1"],
        ],
        header=["邮箱", "姓名", "角色", "部门", "企业", "工号"],
    )  # fmt: skip
    phone.set_input_files(
        "input[type=file]", files=[{"name": "staff.csv", "mimeType": "text/csv", "buffer": data}]
    )
    phone.locator("form[enctype] button[type=submit]").tap()
    phone.wait_for_selector("li#row-5")
    phone.locator("details summary").tap()  # the unchanged rows, opened
    assert phone.evaluate(LAYOUT_PROBLEMS) == []
