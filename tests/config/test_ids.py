import pytest

from config.ids import MAX_ID, object_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("42", 42),
        (" 7 ", 7),
        (12, 12),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("0", None),
        ("-3", None),
        ("²", None),  # isdigit() says yes, int() says no
        ("①", None),
        ("١٢", None),  # Arabic-Indic digits: int() reads them; an id is ASCII
        ("4 2", None),
        ("", None),
        ("12a", None),
        (None, None),
    ],
)
def test_object_id(raw, expected):
    assert object_id(raw) == expected
