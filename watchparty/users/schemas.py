"""User shapes on the wire."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from watchparty.core.schemas import CamelModel, InputModel
from watchparty.users import passwords

_USERNAME = re.compile(r"^[\w.-]{3,32}$")


def _check_username(value: str) -> str:
    if not _USERNAME.fullmatch(value):
        raise ValueError("A username is 3 to 32 letters, digits, '.', '_' or '-', with no spaces.")
    return value


def _check_password(value: str) -> str:
    found = passwords.problem(value)
    if found is not None:
        raise ValueError(found)
    return value


Username = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64), AfterValidator(_check_username)]
# Passwords are taken as sent: no stripping, any script, 8 to 128 characters, not a common one (users/passwords.py).
Password = Annotated[
    str,
    AfterValidator(_check_password),
    Field(
        json_schema_extra={"minLength": passwords.MIN_LENGTH, "maxLength": passwords.MAX_LENGTH},
        description="8 to 128 characters, spaces included and kept; not one of the 30,000 most common passwords, "
        "and not containing the username or email address (422 `validation_error` on `password` says which)",
    ),
]  # the OpenAPI says what _check_password enforces, and its sentences stay the errors
Email = Annotated[EmailStr, Field(max_length=254)]
Language = Annotated[
    Literal["en", "ru"], Field(description="the language of this person's emails (the web client's languages)")
]


class UserPublic(CamelModel):
    id: int
    username: str
    avatar_url: str | None = None


class UserRead(CamelModel):
    id: int
    email: str | None = Field(description="null for a guest")
    username: str
    is_guest: bool = Field(default=False, description="joined by link with a name only; sign up to keep it")
    role: str
    language: str = Field(default="en", description="the language of this person's emails: en or ru")
    avatar_urls: dict[str, Any] | None = None
    profile_picture: str | None = None
    created_at: datetime
    updated_at: datetime


class ProfileUpdate(InputModel):
    """What a user may change about themselves. `role`, `email` and the like are refused as unknown fields."""

    username: Username | None = None
    language: Language | None = None


class PasswordChange(InputModel):
    current_password: Annotated[str, Field(max_length=1024)]
    new_password: Password
