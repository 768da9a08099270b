from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolman_kit.read.quantity import QuantityError, format_cpu, format_memory, parse_quantity


@pytest.mark.parametrize("text, value", [
    ("500m", Decimal("0.5")), ("2", Decimal(2)), ("2000m", Decimal(2)), ("0.5", Decimal("0.5")),
    ("1k", Decimal(1000)), ("1M", Decimal(10**6)), ("1G", Decimal(10**9)),
    ("1T", Decimal(10**12)), ("1P", Decimal(10**15)), ("1E", Decimal(10**18)),
    ("1Ki", Decimal(1024)), ("128Mi", Decimal(128 * 2**20)), ("2Gi", Decimal(2 * 2**30)),
    ("1Ti", Decimal(2**40)), ("1Pi", Decimal(2**50)), ("1Ei", Decimal(2**60)),
    ("1e3", Decimal(1000)), ("1E3", Decimal(1000)), ("1.5e-3", Decimal("0.0015")),
    ("12e+2", Decimal(1200)), ("100n", Decimal("1e-7")), ("5u", Decimal("5e-6")),
    ("+1", Decimal(1)), ("-1", Decimal(-1)), (".5", Decimal("0.5")), ("1.", Decimal(1)),
    ("0", Decimal(0)), (" 1Gi ", Decimal(2**30)), (1, Decimal(1)), (0.25, Decimal("0.25")),
])
def test_parses_every_quantity_form(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", [
    "", "m", "Mi", "1MiB", "1mi", "1 Gi", "lots", "1..5", "1e", "1e1.5", "0x10", "1Gi1",
    "1e999", None, True, [], {"cpu": 1}, "1" * 100,
])
def test_rejects_what_kubernetes_rejects(text):
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_milli_and_binary_are_exact_not_floats():
    assert parse_quantity("100m") * 3 == Decimal("0.3")
    assert parse_quantity("1.1Gi") == Decimal("1.1") * 2**30


@pytest.mark.parametrize("cores, text", [
    (Decimal("0.1"), "100m"), (Decimal(2), "2"), (Decimal("0.0005"), "0.5m"), (None, "none")])
def test_format_cpu(cores, text):
    assert format_cpu(cores) == text


@pytest.mark.parametrize("num_bytes, text", [
    (Decimal(128 * 2**20), "128Mi"), (Decimal(2 * 2**30), "2Gi"), (Decimal(1000), "1k"),
    (Decimal(1500), "1500"), (Decimal(10**9), "1G"), (None, "none")])
def test_format_memory(num_bytes, text):
    assert format_memory(num_bytes) == text


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_quantity_error(text):
    try:
        assert isinstance(parse_quantity(text), Decimal)
    except QuantityError:
        pass


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["m", "", "k", "Mi", "Gi"]))
def test_round_trip_of_generated_quantities(number, suffix):
    value = parse_quantity(f"{number}{suffix}")
    scale = {"m": Decimal("0.001"), "": 1, "k": 1000, "Mi": 2**20, "Gi": 2**30}[suffix]
    assert value == number * scale
