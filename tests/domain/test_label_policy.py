"""Which labels a model picked are kept: the repository's, allowed, at most ``max``, in order."""

from __future__ import annotations

import pytest

from autosolve.domain.label_policy import LabelPolicy

REPOSITORY = ("bug", "UI", "area: parser", "area: cli", "docs")


def test_a_label_is_kept_in_the_repositorys_spelling_only_if_the_repository_has_it():
    kept = LabelPolicy(max=10).keep(["ui", " BUG ", "crash", "Ui"], REPOSITORY)
    assert kept == ("UI", "bug")


@pytest.mark.parametrize(
    ("allow", "kept"),
    [
        ((), ("docs", "area: cli", "bug")),
        (("AREA:*",), ("area: cli",)),
        (("bug", "docs"), ("docs", "bug")),
        (("nothing",), ()),
    ],
)
def test_allow_takes_names_or_globs_case_insensitively(allow, kept):
    picked = ["docs", "Area: CLI", "bug"]
    assert LabelPolicy(allow=allow, max=10).keep(picked, REPOSITORY) == kept


@pytest.mark.parametrize("most", [0, 1, 2])
def test_at_most_max_are_kept_in_the_models_order(most: int):
    picked = ["docs", "nonexistent", "bug", "UI"]
    assert LabelPolicy(max=most).keep(picked, REPOSITORY) == ("docs", "bug", "UI")[:most]
