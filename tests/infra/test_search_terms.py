"""The terms the search index stores and a query looks up."""

from __future__ import annotations

from autosolve.infra.search.terms import (
    BODY_TERMS,
    MAX_TERM_LENGTH,
    STOPWORDS,
    issue_term_texts,
    issue_terms,
    stem,
    terms,
)


def test_code_identifiers_and_error_codes_stay_whole_terms() -> None:
    found = terms("error[E0277]: `snake_case_name` in HashMap::with_capacity, an ICE")
    assert {"e0277", "snake_case_name", "hashmap", "with_capacity", "ice"} <= set(found)


def test_compiler_paths_give_one_term_per_component() -> None:
    found = terms("at src/librustc_typeck/check/mod.rs:1234")
    assert found == ["src", "librustc_typeck", "check", "mod", "rs"]


def test_ascii_punctuation_and_control_characters_separate_words() -> None:
    assert terms("alpha\x01beta-gamma/delta") == ["alpha", "beta", "gamma", "delta"]


def test_function_words_numbers_and_hashes_are_left_out() -> None:
    found = terms("It is 1234 lines, see commit 44a287e6eb22ec3c2a687 and 0x7fff5fbff8a8")
    assert found == ["line", "see", "commit"]
    assert not STOPWORDS.intersection(found)


def test_a_word_longer_than_the_limit_is_left_out() -> None:
    assert terms("a" * (MAX_TERM_LENGTH + 1) + " borrow") == ["borrow"]


def test_plurals_and_verb_endings_fold_to_one_stem() -> None:
    assert stem("compiling") == stem("compiled") == "compil"
    assert stem("compiles") == stem("compile") == "compile"
    assert stem("errors") == stem("error") == "error"
    assert stem("libraries") == "library"
    assert stem("class") == stem("classes") == "class"
    assert stem("lines") == stem("line") == "line"
    assert stem("boxes") == "box"


def test_short_words_and_identifiers_are_not_stemmed() -> None:
    assert [stem(word) for word in ("uses", "is", "u8s", "as_ref", "bytes")] == [
        "use",
        "is",
        "u8s",
        "as_ref",
        "byte",
    ]


def test_non_ascii_words_are_terms_too() -> None:
    assert terms("Überprüfung fehlgeschlagen") == ["überprüfung", "fehlgeschlagen"]


def test_a_body_is_cut_to_its_first_terms_and_a_title_never() -> None:
    words = " ".join(f"word{index}x" for index in range(BODY_TERMS * 2))
    title, body = issue_terms(words, words)
    assert len(title) == BODY_TERMS * 2
    assert body == title[:BODY_TERMS]


def test_an_empty_or_missing_text_has_no_terms() -> None:
    assert terms(None) == terms("") == []


def test_the_index_stores_an_issues_terms_separated_by_single_spaces() -> None:
    words = "The borrow checker rejects it:  E0502 at\nsrc/main.rs " * BODY_TERMS
    title, body = issue_terms("Borrow checker rejects closures", words)
    assert issue_term_texts("Borrow checker rejects closures", words) == (
        " ".join(title),
        " ".join(body),
    )
    assert issue_term_texts(None, "") == ("", "")
