"""Auth request and response bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from watchparty.core.schemas import CamelModel, InputModel
from watchparty.core.validators import single_line
from watchparty.users.schemas import Email, Language, Password, Username, UserRead

OpaqueToken = Annotated[str, Field(min_length=10, max_length=200)]


class RegisterIn(InputModel):
    email: Email
    username: Username
    password: Password
    language: Language = "en"


def _guest_name(value: str) -> str:
    name = " ".join(value.split())
    if not 2 <= len(name) <= 24 or not all(c.isalnum() or c in " ._-" for c in name):
        raise ValueError("A name is 2 to 24 letters, digits, spaces, '.', '_' or '-'.")
    return name


class GuestIn(InputModel):
    display_name: Annotated[str, Field(max_length=64), AfterValidator(_guest_name)] = Field(
        description="the name others see; a number is added when someone has it already"
    )
    device_token: OpaqueToken | None = Field(
        default=None,
        description="a random token this browser keeps (localStorage): a ban of this guest holds for new guest "
        "identities from the same device",
    )


class LoginIn(InputModel):
    email: Annotated[str, Field(min_length=3, max_length=254), AfterValidator(single_line)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class RefreshIn(InputModel):
    refresh_token: OpaqueToken


class ForgotPasswordIn(InputModel):
    email: Email


class ResetPasswordIn(InputModel):
    token: OpaqueToken
    password: Password


class TokenPair(CamelModel):
    token: str
    refresh_token: str
    expires_in: int


class AuthResult(TokenPair):
    user: UserRead


class Accepted(CamelModel):
    message: str
