"""The password policy (users/passwords.py, ASVS 5.0 level 2): lengths, spaces kept, the common list, and the
account's own names."""

from __future__ import annotations

import pytest

from watchparty.users import passwords
from watchparty.users.schemas import PasswordChange


def test_the_common_list_is_large_and_refused_in_any_case() -> None:
    common = passwords.common_passwords()
    assert len(common) >= 10_000
    assert sum(len(p) >= passwords.MIN_LENGTH for p in common) >= 10_000
    for word in ("12345678", "password", "iloveyou", "Password1", "QWERTYUIOP", "baseball"):
        assert passwords.problem(word) is not None, word
    assert "common" in (passwords.problem("12345678") or "")


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("seven77", False),  # 7 characters
        ("eight888x", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("        ", False),  # only spaces
        ("nul\x00inside", False),
        ("пароль на кириллице", True),  # any script
        ("ça, c'est un mot de passe", True),
    ],
)
def test_lengths_and_characters(password: str, ok: bool) -> None:
    assert (passwords.problem(password) is None) is ok


def test_64_characters_and_more_are_accepted_and_spaces_are_kept() -> None:
    long = "a sentence of sixty-four characters or more is a fine passphrase!!"
    assert len(long) > 64 and passwords.problem(long) is None
    spaced = "  spaces at both ends  "
    assert PasswordChange(current_password="x", new_password=spaced).new_password == spaced


def test_the_username_and_email_are_not_part_of_it() -> None:
    def check(password: str) -> str | None:
        return passwords.problem_with(password, username="Marta_K", email="marta.k@example.com")

    assert check("my name is marta_k!") == "A password cannot contain your username"
    assert check("MARTA.K rocks the party") == "A password cannot contain your email address"
    assert check("marta.k@example.com") == "A password cannot contain your email address"
    assert check("martian landscapes") is None  # a part of a name is not the name
    assert passwords.problem_with("ab ab ab ab", username="ab", email="ab@x.io") is None  # too short to look for
