"""Small-cell suppression: primary cells, complementary cells, and what stays visible."""
from __future__ import annotations

import pandas as pd

from security.suppression import display, suppress


def test_counts_between_one_and_ten_are_hidden_zero_and_eleven_are_not():
    frame = pd.DataFrame({"cell": list("abcde"), "patients": [0, 1, 10, 11, 250]})
    out = suppress(frame, "patients", 11)
    assert out["suppressed"].tolist() == [False, True, True, False, False]
    assert out["patients"].isna().tolist() == [False, True, True, False, False]


def test_only_sensitive_cells_are_hidden():
    frame = pd.DataFrame({"group": ["own", "other"], "patients": [3, 3]})
    out = suppress(frame, "patients", 11, sensitive=frame["group"] != "own")
    assert out["suppressed"].tolist() == [False, True]


def test_a_lone_hidden_cell_gets_a_complementary_partner():
    # area total is derivable: hiding only "x" would let x = total - (40 + 25)
    frame = pd.DataFrame({"area": ["A", "A", "A"], "client": ["x", "y", "z"], "patients": [4, 40, 25]})
    out = suppress(frame, "patients", 11, groups=[["area"]])
    assert out["suppressed"].tolist() == [True, False, True]  # the smallest other cell is hidden too


def test_complementary_suppression_propagates_across_groups():
    frame = pd.DataFrame({
        "area": ["A", "A", "B", "B"], "client": ["x", "y", "x", "y"], "patients": [5, 30, 40, 50]})
    out = suppress(frame, "patients", 11, groups=[["area"], ["client"]])
    hidden = out.groupby("area")["suppressed"].sum().tolist() + out.groupby("client")["suppressed"].sum().tolist()
    assert all(count != 1 for count in hidden)
    assert out.loc[0, "suppressed"]


def test_no_group_is_left_with_exactly_one_hidden_cell_when_partners_exist():
    frame = pd.DataFrame({"row": [r for r in "abc" for _ in range(3)], "col": list("xyz") * 3,
                          "patients": [2, 30, 40, 50, 60, 70, 80, 90, 3]})
    out = suppress(frame, "patients", 11, groups=[["row"], ["col"]])
    for key in ("row", "col"):
        assert (out.groupby(key)["suppressed"].sum() != 1).all()


def test_display():
    assert display(5, True, 11) == "<11"
    assert display(1234, False, 11) == "1,234"


def test_complementary_cells_are_never_the_viewers_own_counts():
    frame = pd.DataFrame({"group": ["own", "other", "none"], "patients": [3, 5, 40]})
    out = suppress(frame, "patients", 11, sensitive=frame["group"] != "own")
    assert out["suppressed"].tolist() == [False, True, False]
    grouped = suppress(frame.assign(code="c"), "patients", 11, sensitive=frame["group"] != "own", groups=[["code"]])
    # "own" (3) is smaller but the viewer knows it already; the partner is the other sensitive cell
    assert grouped["suppressed"].tolist() == [False, True, True]
