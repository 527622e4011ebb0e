"""Bad input of every kind gets the error envelope with the documented status, never a 500."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from pydantic import SecretStr

from tests.integration.helpers import create_room, register
from watchparty.app import create_app
from watchparty.config import Settings


def _envelope(r: httpx.Response, status: int, code: str | None = None) -> dict[str, object]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False
    assert set(body) == {"success", "error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return dict(body["error"])


async def test_unknown_path_and_method(client: httpx.AsyncClient) -> None:
    _envelope(await client.get("/api/nothing-here"), 404, "not_found")
    _envelope(await client.patch("/api/rooms"), 405, "method_not_allowed")


async def test_an_unknown_page_is_the_web_clients_404_and_an_unknown_api_path_json(client: httpx.AsyncClient) -> None:
    page = {"accept": "text/html,application/xhtml+xml"}
    for path in ["/no-such-page", "/rooms/abc", "/rooms/1/extra"]:
        r = await client.get(path, headers=page)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path
        assert '<main id="view"' in r.text  # the client's shell, which shows its "page not found"
    for path in ["/api/nothing-here", "/media/nothing.mp4", "/app/nothing.js"]:
        _envelope(await client.get(path, headers=page), 404, "not_found")
    _envelope(await client.get("/no-such-page"), 404, "not_found")  # not asked for as a page: JSON


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    for raw in [b"{", b"{'a': 1}", b"[1,", b"\xff\xfe"]:
        r = await client.post("/api/auth/login", content=raw, headers={"content-type": "application/json"})
        _envelope(r, 400, "malformed_json")


async def test_schema_errors_are_422_with_field_details(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/auth/register", json={"email": "not-an-email", "username": "x", "extra": 1})
    err = _envelope(r, 422, "validation_error")
    fields = {d["field"] for d in err["details"]}  # type: ignore[attr-defined]
    assert fields == {"email", "username", "password", "extra"}
    _envelope(await client.post("/api/auth/login", json=[1, 2]), 422)
    assert _envelope(await client.post("/api/auth/login", json=[1, 2]), 422)["details"] == [
        {"field": "body", "code": "model_attributes_type", "message": "Send a JSON object."}
    ]
    _envelope(await client.post("/api/auth/login", json={"email": 5, "password": None}), 422)
    _envelope(await client.post("/api/auth/login"), 422)


async def test_each_field_error_is_a_sentence_with_its_code_and_number(client: httpx.AsyncClient) -> None:
    """What a person reads next to a field: never pydantic's "String should have at least 3 characters"."""
    r = await client.post("/api/auth/register", json={"email": "", "username": "ab", "password": ""})
    details = {d["field"]: d for d in _envelope(r, 422, "validation_error")["details"]}  # type: ignore[attr-defined]
    assert (details["email"]["code"], details["email"]["message"]) == ("missing", "Enter your email address.")
    assert details["password"]["message"] == "Enter your password." or "8 characters" in details["password"]["message"]
    assert "3 to 32" in details["username"]["message"]
    r = await client.post("/api/auth/login", json={"email": "a" * 300, "password": "x"})
    detail: dict[str, object] = _envelope(r, 422)["details"][0]  # type: ignore[index]
    assert detail == {
        "field": "email", "code": "string_too_long", "message": "The email address can be at most 254 characters.",
        "limit": 254,
    }  # fmt: skip
    r = await client.post("/api/auth/guest", json={})
    assert _envelope(r, 422)["details"] == [
        {"field": "displayName", "code": "missing", "message": "Enter the name others will see."}
    ]
    r = await client.get("/api/rooms", params={"limit": 1000})
    detail = _envelope(r, 422)["details"][0]  # type: ignore[index]
    assert (detail["code"], detail["limit"], detail["message"]) == (
        "less_than_equal",
        100,
        "The limit must be 100 or less.",
    )


async def test_huge_strings_are_422_and_huge_bodies_413(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/auth/login", json={"email": "a" * 100_000, "password": "x"})
    _envelope(r, 422)
    r = await client.post(
        "/api/auth/login", content=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers={"content-type": "application/json"}
    )
    error = _envelope(r, 413, "payload_too_large")
    assert error["message"] == "The request is over 1 MiB, the most this accepts."  # the limit, in its number
    assert error["details"] == [  # and for a client to say in its own words
        {"field": "body", "code": "payload_too_large", "message": error["message"], "limit": 1024 * 1024}
    ]


async def test_body_limit_holds_without_content_length(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 65536

    r = await client.post("/api/auth/login", content=chunks(), headers={"content-type": "application/json"})
    _envelope(r, 413, "payload_too_large")


@pytest.mark.parametrize(
    "path",
    [
        "/api/rooms/0",
        "/api/rooms/-1",
        "/api/rooms/abc",
        "/api/rooms/99999999999999",
        "/api/movies/1.5",
        "/api/chat/2147483648/messages",
    ],
)
async def test_bad_ids_are_422(client: httpx.AsyncClient, path: str) -> None:
    _envelope(await client.get(path), 422)


async def test_unknown_ids_are_404(client: httpx.AsyncClient) -> None:
    _envelope(await client.get("/api/rooms/2147483647"), 404, "room_not_found")
    _envelope(await client.get("/api/movies/12345"), 404, "movie_not_found")


@pytest.mark.parametrize("params", [{"page": 0}, {"limit": 101}, {"limit": "x"}, {"page": 10**9}])
async def test_bad_pagination_is_422(client: httpx.AsyncClient, params: dict[str, int | str]) -> None:
    _envelope(await client.get("/api/rooms", params=params), 422)


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


async def test_forged_and_expired_tokens_are_401(client: httpx.AsyncClient, settings: Settings) -> None:
    acc = await register(client, "victim")
    secret = settings.jwt_secret.get_secret_value()
    now = int(time.time())
    good = {"sub": str(acc.id), "ver": 0, "type": "access", "iat": now, "exp": now + 600}
    forged = [
        _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(good) + ".",
        jwt.encode(good, "some other secret that is long enough!!", algorithm="HS256"),
        jwt.encode(good, secret, algorithm="HS512"),
        jwt.encode({**good, "exp": now - 1}, secret, algorithm="HS256"),
        jwt.encode({**good, "type": "refresh"}, secret, algorithm="HS256"),
        jwt.encode({k: v for k, v in good.items() if k != "exp"}, secret, algorithm="HS256"),
        jwt.encode({k: v for k, v in good.items() if k != "sub"}, secret, algorithm="HS256"),
        jwt.encode({**good, "sub": "99999"}, secret, algorithm="HS256"),
        jwt.encode({**good, "ver": 1}, secret, algorithm="HS256"),
        "garbage",
        "a.b.c",
    ]
    for token in forged:
        r = await client.get("/api/auth/profile", headers={"Authorization": f"Bearer {token}"})
        _envelope(r, 401, "invalid_token")
        assert r.headers["www-authenticate"] == "Bearer"
    # the control: a correctly signed token works
    ok = jwt.encode(good, secret, algorithm="HS256")
    assert (await client.get("/api/auth/profile", headers={"Authorization": f"Bearer {ok}"})).status_code == 200
    _envelope(await client.get("/api/auth/profile", headers={"Authorization": "Basic abc"}), 401)


async def test_a_bad_token_on_a_public_endpoint_is_still_401(client: httpx.AsyncClient) -> None:
    # a client with a broken token should learn so, not silently see the anonymous view
    _envelope(await client.get("/api/rooms/1", headers={"Authorization": "Bearer junk"}), 401)


async def test_every_response_has_a_request_id(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/nothing")
    assert len(r.headers["x-request-id"]) >= 8
    r = await client.get("/api/health", headers={"X-Request-ID": "trace-123"})
    assert r.headers["x-request-id"] == "trace-123"
    r = await client.get("/api/health", headers={"X-Request-ID": "bad id\twith junk"})
    assert r.headers["x-request-id"] != "bad id\twith junk"


async def test_join_with_a_non_object_body_is_422(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    room = await create_room(client, host)
    r = await client.post(f"/api/rooms/{room['id']}/join", json=["x"], headers=host.headers)
    _envelope(r, 422)


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/api/rooms/{room_id}/join" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200


async def test_the_openapi_says_the_password_bounds_the_server_enforces_and_production_has_no_cdn_docs(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    spec = (await client.get("/openapi.json")).json()
    password = spec["components"]["schemas"]["RegisterIn"]["properties"]["password"]
    assert (password["minLength"], password["maxLength"]) == (8, 128)
    r = await client.post("/api/auth/register", json={"email": "long@example.com", "username": "longpw",
                                                       "password": "x" * 129})  # fmt: skip
    assert r.status_code == 422 and "at most 128" in r.text
    production = settings.model_copy(update={"environment": "production", "jwt_secret": SecretStr("p" * 40),
                                             "argon2_time_cost": 3, "argon2_memory_cost": 65536})  # fmt: skip
    transport = httpx.ASGITransport(app=create_app(production))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get("/docs")).status_code == 404  # its scripts come from a CDN
        assert (await http.get("/openapi.json")).status_code == 200
