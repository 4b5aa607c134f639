"""The generated HTTP token: made once, kept private, refused when it is not."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from autosolve.http.token import TokenFileError, generated_token, token_file


def test_the_token_file_is_named_after_the_socket_beside_it(tmp_path: Path) -> None:
    assert token_file(tmp_path / "autosolve.sock") == tmp_path / "autosolve.sock.http-token"


def test_a_token_is_made_once_private_and_read_back_after(tmp_path: Path) -> None:
    path = tmp_path / "autosolve.sock.http-token"
    token = generated_token(path)
    assert len(token) >= 40 and token == generated_token(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no staging file left


def test_an_empty_file_gets_a_new_token(tmp_path: Path) -> None:
    path = tmp_path / "t.http-token"
    path.touch(mode=0o600)
    assert generated_token(path) == path.read_text().strip() != ""


def test_a_file_others_may_read_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "t.http-token"
    path.write_text("leaked\n")
    path.chmod(0o644)
    with pytest.raises(TokenFileError, match=r"readable by others \(mode 0644\); run `chmod 600"):
        generated_token(path)


def test_a_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("x")
    target.chmod(0o600)
    path = tmp_path / "t.http-token"
    os.symlink(target, path)
    with pytest.raises(TokenFileError, match=f"http token file {path}"):
        generated_token(path)
