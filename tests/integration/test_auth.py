"""Register, login, token rotation, logout, profile and password reset against the real database."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from tests.integration.helpers import PASSWORD, link_token, register
from tests.smtp import Mailbox, job_number
from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.models import PasswordResetToken


async def test_register_returns_user_and_tokens_and_queues_welcome(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    r = await client.post(
        "/api/auth/register", json={"email": "Ann@Example.com", "username": "ann", "password": PASSWORD}
    )
    assert r.status_code == 201
    body = r.json()
    assert body["success"] is True
    assert body["data"]["user"]["email"] == "ann@example.com"
    assert body["data"]["user"]["role"] == "user"
    assert "passwordHash" not in body["data"]["user"]
    assert body["data"]["token"] and body["data"]["refreshToken"]
    welcome = await mailbox.one_to("ann@example.com", "Welcome")
    assert welcome["Subject"] == "Welcome to WatchParty"
    assert [m["To"] for m in mailbox.messages] == ["ann@example.com"]


async def test_emails_go_in_the_language_the_person_chose(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    """Issue 17, item 7: sign up in Russian, and the welcome, the reset link and an invite you send are in Russian;
    the profile changes the language of the next ones."""
    body = {"email": "ru@example.com", "username": "sasha", "password": PASSWORD, "language": "ru"}
    r = await client.post("/api/auth/register", json=body)
    assert r.status_code == 201 and r.json()["data"]["user"]["language"] == "ru"
    welcome = await mailbox.one_to("ru@example.com", "Добро пожаловать")
    assert "Ваш аккаунт WatchParty готов" in welcome.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {r.json()['data']['token']}"}
    room = (await client.post("/api/rooms", json={"name": "Кино"}, headers=headers)).json()["data"]
    await client.post(f"/api/rooms/{room['id']}/invite", json={"email": "friend@example.com"}, headers=headers)
    assert (await mailbox.one_to("friend@example.com"))["Subject"] == "sasha приглашает вас посмотреть вместе"
    r = await client.put("/api/auth/profile", json={"language": "en"}, headers=headers)
    assert r.json()["data"]["language"] == "en"
    await client.post("/api/auth/forgot-password", json={"email": "ru@example.com"})
    assert (await mailbox.one_to("ru@example.com", "Reset"))["Subject"] == "Reset your WatchParty password"
    r = await client.put("/api/auth/profile", json={"language": "de"}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "language"


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("123456", "at least 8"),
        ("short", "at least 8"),
        ("x" * 129, "at most 128"),
        ("        ", "only spaces"),
        ("12345678", "most common passwords"),
        ("Password1", "most common passwords"),
        ("bob's movie nights", "your username"),
        ("B@EXAMPLE.COM forever", "your email address"),
    ],
)
async def test_weak_passwords_are_refused_with_a_clear_422(
    client: httpx.AsyncClient, password: str, expected: str
) -> None:
    r = await client.post(
        "/api/auth/register", json={"email": "b@example.com", "username": "bob", "password": password}
    )
    assert r.status_code == 422
    details = r.json()["error"]["details"]
    assert details[0]["field"] == "password"
    assert expected in details[0]["message"]


async def test_a_new_password_follows_the_policy_on_change_and_reset(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    acc = await register(client, "lena")
    for new, expected in (("iloveyou", "most common"), ("lena and her films", "your username")):
        body = {"currentPassword": PASSWORD, "newPassword": new}
        r = await client.post("/api/auth/change-password", json=body, headers=acc.headers)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["field"] == "newPassword"
        assert expected in r.json()["error"]["details"][0]["message"]
    await client.post("/api/auth/forgot-password", json={"email": acc.email})
    token = link_token(await mailbox.one_to(acc.email, "Reset"), r"token=([\w-]+)")
    r = await client.post("/api/auth/reset-password", json={"token": token, "password": "lena@example.com!"})
    assert (r.status_code, r.json()["error"]["details"][0]["field"]) == (422, "password")
    # refused, the link is still good: the person picks another password with it
    r = await client.post("/api/auth/reset-password", json={"token": token, "password": "  a fine new one  "})
    assert r.status_code == 200
    login = await client.post("/api/auth/login", json={"email": acc.email, "password": "  a fine new one  "})
    assert login.status_code == 200  # kept as typed, spaces and all


async def test_passwords_in_any_script_work(client: httpx.AsyncClient) -> None:
    pw = "пароль-密码-كلمة"
    await register(client, "unicode", password=pw)
    r = await client.post("/api/auth/login", json={"email": "unicode@example.com", "password": pw})
    assert r.status_code == 200


async def test_duplicate_email_and_username_are_409(client: httpx.AsyncClient) -> None:
    await register(client, "carol")
    r = await client.post(
        "/api/auth/register", json={"email": "CAROL@example.com", "username": "other", "password": PASSWORD}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "email_taken")
    r = await client.post(
        "/api/auth/register", json={"email": "new@example.com", "username": "Carol", "password": PASSWORD}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "username_taken")


async def test_login_gives_the_same_error_for_unknown_email_and_wrong_password(client: httpx.AsyncClient) -> None:
    await register(client, "dave")
    wrong = await client.post("/api/auth/login", json={"email": "dave@example.com", "password": "not the one!"})
    unknown = await client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "whatever1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    ok = await client.post("/api/auth/login", json={"email": "DAVE@example.com", "password": PASSWORD})
    assert ok.status_code == 200


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient) -> None:
    acc = await register(client, "erin")
    first = await client.post("/api/auth/refresh", json={"refreshToken": acc.refresh_token})
    assert first.status_code == 200
    second_token = first.json()["data"]["refreshToken"]
    assert second_token != acc.refresh_token
    # the old token comes back: an attacker or a replay. The family dies.
    reuse = await client.post("/api/auth/refresh", json={"refreshToken": acc.refresh_token})
    assert (reuse.status_code, reuse.json()["error"]["code"]) == (401, "invalid_refresh_token")
    after = await client.post("/api/auth/refresh", json={"refreshToken": second_token})
    assert after.status_code == 401
    # another login is another family, untouched
    login = await client.post("/api/auth/login", json={"email": acc.email, "password": PASSWORD})
    other = await client.post("/api/auth/refresh", json={"refreshToken": login.json()["data"]["refreshToken"]})
    assert other.status_code == 200


async def test_logout_revokes_the_refresh_family(client: httpx.AsyncClient) -> None:
    acc = await register(client, "frank")
    rotated = (await client.post("/api/auth/refresh", json={"refreshToken": acc.refresh_token})).json()["data"]
    r = await client.post("/api/auth/logout", json={"refreshToken": rotated["refreshToken"]})
    assert r.json() == {"success": True, "data": None}
    r = await client.post("/api/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert r.status_code == 401
    # logging out with an unknown token is harmless
    assert (await client.post("/api/auth/logout", json={"refreshToken": "x" * 43})).status_code == 200


async def test_logout_all_kills_access_tokens(client: httpx.AsyncClient) -> None:
    acc = await register(client, "gina")
    assert (await client.get("/api/auth/profile", headers=acc.headers)).status_code == 200
    assert (await client.post("/api/auth/logout-all", headers=acc.headers)).status_code == 200
    r = await client.get("/api/auth/profile", headers=acc.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_token")
    assert (await client.post("/api/auth/refresh", json={"refreshToken": acc.refresh_token})).status_code == 401


async def test_change_password_revokes_other_sessions(client: httpx.AsyncClient) -> None:
    acc = await register(client, "hank")
    body = {"currentPassword": "wrong password", "newPassword": "a new password"}
    r = await client.post("/api/auth/change-password", json=body, headers=acc.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "wrong_password")
    body["currentPassword"] = PASSWORD
    r = await client.post("/api/auth/change-password", json=body, headers=acc.headers)
    assert r.status_code == 200
    fresh = {"Authorization": f"Bearer {r.json()['data']['token']}"}
    assert (await client.get("/api/auth/profile", headers=acc.headers)).status_code == 401
    assert (await client.get("/api/auth/profile", headers=fresh)).status_code == 200
    assert (await client.post("/api/auth/refresh", json={"refreshToken": acc.refresh_token})).status_code == 401
    login = await client.post("/api/auth/login", json={"email": acc.email, "password": "a new password"})
    assert login.status_code == 200


async def test_profile_get_and_put_refuse_mass_assignment(client: httpx.AsyncClient) -> None:
    acc = await register(client, "ivy")
    r = await client.get("/api/auth/profile", headers=acc.headers)
    assert r.json()["data"]["username"] == "ivy"
    r = await client.put("/api/auth/profile", json={"username": "ivy2"}, headers=acc.headers)
    assert r.json()["data"]["username"] == "ivy2"
    for field, value in [("role", "admin"), ("tokenVersion", 0), ("id", 99), ("email", "x@example.com")]:
        r = await client.put("/api/auth/profile", json={field: value}, headers=acc.headers)
        assert r.status_code == 422, field
        assert r.json()["error"]["details"][0] == {
            "field": field,
            "code": "extra_forbidden",
            "message": f"“{field}” is not a field of this request.",
        }
    assert (await client.get("/api/auth/profile", headers=acc.headers)).json()["data"]["role"] == "user"


async def test_forgot_and_reset_password(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    acc = await register(client, "jack")
    r = await client.post("/api/auth/forgot-password", json={"email": "nobody@example.com"})
    assert r.status_code == 202
    r2 = await client.post("/api/auth/forgot-password", json={"email": acc.email})
    assert r2.status_code == 202
    assert r.json() == r2.json()  # the answer never says whether the account exists
    reset = await mailbox.one_to(acc.email, "Reset")
    assert [m["To"] for m in mailbox.messages if "Reset" in m["Subject"]] == [acc.email]
    token = link_token(reset, r"http://watchparty\.test/reset-password\?token=([\w-]+)")

    r = await client.post("/api/auth/reset-password", json={"token": token, "password": "brand new pass"})
    assert r.status_code == 200
    # single use
    r = await client.post("/api/auth/reset-password", json={"token": token, "password": "another pass!"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_reset_token")
    # old sessions are gone, the new password works
    assert (await client.get("/api/auth/profile", headers=acc.headers)).status_code == 401
    login = await client.post("/api/auth/login", json={"email": acc.email, "password": "brand new pass"})
    assert login.status_code == 200


async def test_reset_token_expires(client: httpx.AsyncClient, mailbox: Mailbox, services: Services) -> None:
    acc = await register(client, "kate")
    await client.post("/api/auth/forgot-password", json={"email": acc.email})
    token = link_token(await mailbox.one_to(acc.email, "Reset"), r"token=([\w-]+)")
    async with services.db.session() as session:
        await session.execute(update(PasswordResetToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = await client.post("/api/auth/reset-password", json={"token": token, "password": "brand new pass"})
    assert r.status_code == 400


async def test_a_newer_reset_link_replaces_the_older(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    acc = await register(client, "liam")
    await client.post("/api/auth/forgot-password", json={"email": acc.email})
    await client.post("/api/auth/forgot-password", json={"email": acc.email})
    resets = await mailbox.wait_for(lambda ms: len([m for m in ms if "Reset" in m["Subject"]]) == 2)
    resets = sorted((m for m in resets if "Reset" in m["Subject"]), key=job_number)  # delivery order may differ
    first, second = (link_token(m, r"token=([\w-]+)") for m in resets)
    assert (
        await client.post("/api/auth/reset-password", json={"token": first, "password": "x" * 10})
    ).status_code == 400
    assert (
        await client.post("/api/auth/reset-password", json={"token": second, "password": "x" * 10})
    ).status_code == 200
