"""Hours and money as numbers and as typed text (exchange.units). No app, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange import units

# --- hours -------------------------------------------------------------------------


def test_hours_are_exact_and_cells_have_two_decimals():
    assert units.hours(90) == Decimal("1.5")
    assert units.hours(45) == Decimal("0.75")
    assert units.hours_value(90) == Decimal("1.50")
    assert units.hours_value(20) == Decimal("0.33")


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(None, ""), (0, "0"), (15, "0.25"), (90, "1.5"), (120, "2"), (600, "10"), (20, "0.33")],
)
def test_hours_number(minutes, text):
    assert units.hours_number(minutes) == text


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [
        ("1.5", 90),
        ("1,5", 90),
        (" 2 ", 120),
        ("１.５", 90),  # full-width digits, as Chinese input methods type them
        ("0.25", 15),
        (2, 120),
        (Decimal("0.5"), 30),
        ("0.01", Decimal("0.6")),  # not whole: the caller says what is allowed
    ],
)
def test_typed_hours_as_minutes(typed, minutes):
    assert units.typed_minutes(typed) == minutes


@pytest.mark.parametrize("typed", [None, "", "   "])
def test_nothing_typed(typed):
    assert units.typed_minutes(typed) is None


@pytest.mark.parametrize("typed", ["abc", "1.5h", "inf", "NaN", "1e999999", True, False, object()])
def test_not_a_number_of_hours(typed):
    with pytest.raises(ValueError):  # noqa: PT011
        units.typed_minutes(typed)


def test_whole_minutes():
    assert units.whole_minutes(Decimal(90)) == 90
    assert units.whole_minutes(Decimal("90.0")) == 90
    assert units.whole_minutes(Decimal("0.6")) is None


@given(st.integers(min_value=0, max_value=10**7).map(lambda k: 3 * k))
def test_hours_read_back_as_written(minutes):
    # Whole multiples of 3 minutes are exact in two decimals of an hour.
    assert units.typed_minutes(units.hours_number(minutes)) == minutes


@given(st.integers(min_value=0, max_value=10**7))
def test_hours_number_is_the_cell_value_without_trailing_zeros(minutes):
    assert Decimal(units.hours_number(minutes)) == units.hours_value(minutes)


# --- money -------------------------------------------------------------------------


def test_minor_to_major():
    assert units.minor_to_major(800000) == Decimal("8000.00")
    assert str(units.minor_to_major(5)) == "0.05"
    assert str(units.minor_to_major(-150)) == "-1.50"


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("50.00", 5000),
        ("50", 5000),
        ("50.5", 5050),
        ("8,000.00", 800000),
        ("¥ 12.30", 1230),
        ("５０．００", 5000),  # full-width, as Chinese input methods type them
        (".5", 50),
        ("-3", -300),
        ("", None),
        (None, None),
        ("  ", None),
    ],
)
def test_parse_yuan(text, minor):
    assert units.parse_yuan(text) == minor


@pytest.mark.parametrize("text", ["abc", "1.234", "1,00", "1e3", "5 yuan", "9" * 25])
def test_not_an_amount(text):
    with pytest.raises(ValueError):  # noqa: PT011
        units.parse_yuan(text)


def test_yuan_text():
    assert units.yuan_text(None) == ""
    assert units.yuan_text(5000) == "50.00"
    assert units.yuan_text(5) == "0.05"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_amounts_read_back_as_written(minor):
    assert units.parse_yuan(units.yuan_text(minor)) == minor
    assert Decimal(units.yuan_text(minor)) == units.minor_to_major(minor)
