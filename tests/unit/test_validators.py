"""Field rules for request bodies."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from watchparty.core.validators import Name, Url
from watchparty.users.schemas import Password, Username

url = TypeAdapter(Url)
name = TypeAdapter(Name)
username = TypeAdapter(Username)
password = TypeAdapter(Password)


@pytest.mark.parametrize(
    "value", ["https://example.com/v.mp4", "http://host:8000/a b".replace(" ", ""), "/media/x.mp4"]
)
def test_urls_accepted(value: str) -> None:
    assert url.validate_python(value) == value


@pytest.mark.parametrize("value", ["javascript:alert(1)", "//evil/x", "ftp://x/y", "data:text/html,hi", "https://a b"])
def test_urls_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        url.validate_python(value)


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "a\tb", "\ud800"])
def test_single_line_names_refuse_control_characters(value: str) -> None:
    with pytest.raises(ValidationError):
        name.validate_python(value)


def test_usernames() -> None:
    assert username.validate_python("  Zoë_1.x  ") == "Zoë_1.x"
    for bad in ["ab", "a" * 33, "with space", "semi;colon", "line\nbreak"]:
        with pytest.raises(ValidationError):
            username.validate_python(bad)


def test_passwords_keep_their_spaces_and_allow_any_script() -> None:
    assert password.validate_python("  spaced  ") == "  spaced  "
    assert password.validate_python("密码密码密码密码") == "密码密码密码密码"
    for bad in ["1234567", "x" * 129, " " * 10, "abc\x00defgh"]:
        with pytest.raises(ValidationError):
            password.validate_python(bad)
