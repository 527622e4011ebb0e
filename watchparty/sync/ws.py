"""One WebSocket connection to a room: checks before accept, the receive loop with limits, and a sender with
a bounded queue so that a client that stops reading is dropped instead of slowing the room."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from watchparty.chat import service as chat_service
from watchparty.chat.errors import Filtered, SlowMode
from watchparty.chat.schemas import MessageCreate
from watchparty.core.deps import Services
from watchparty.core.errors import AppError
from watchparty.rooms import flows as room_flows
from watchparty.rooms import playlist, playlist_flows
from watchparty.rooms.errors import Muted, StalePlaylist
from watchparty.rooms.schemas import ItemAdd, PlaylistImport, PlaylistUpdate
from watchparty.sync import engine, protocol, service
from watchparty.sync.hub import Hub, LiveRoomGone
from watchparty.users import service as users_service

log = logging.getLogger("watchparty.sync")

# A connection's send queue is bounded by bytes (and, for tiny messages, by count): an arrival storm of hundreds of
# small presence events fits, a client that stops reading while 2 KB chat messages pile up does not.
SEND_QUEUE_BYTES = 256 * 1024
SEND_QUEUE_ITEMS = 4096
IDLE_SECONDS = 40.0
MAX_PER_USER = 5
MAX_PER_ROOM = 500
# The flood rule: each refused frame takes a strike from an allowance of STRIKES, which comes back at
# STRIKES_PER_SECOND; a refused frame that finds none left closes the connection with 4008. A client over a limit
# now and then is only told `rate_limited`; one far past it for seconds on end is closed.
STRIKES, STRIKES_PER_SECOND = 50, 5
CLOSE_DRAIN_SECONDS = 2.0
QUIET_SECONDS = 0.15


class Bucket:
    """A token bucket: `rate` per second, up to `burst`."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass(frozen=True)
class Pong:
    """A pong waits in the send queue like any message, but is stamped (t2) as it leaves: time spent queued
    behind a burst is then server time, not network time, and does not skew the client's clock estimate."""

    ping_id: int
    t0: float
    t1: float


class Connection:
    def __init__(
        self, ws: WebSocket, room_id: int, user_id: int, clock: Callable[[], float] = time.time, role: str = "member"
    ) -> None:
        self.ws, self.room_id, self.user_id, self.clock = ws, room_id, user_id, clock
        self.role = role  # kept current from `role` events (hub._fan_out), for `you` updates
        self.epoch: str | None = None  # the live room's generation this connection was welcomed in
        self.lease: str | None = None  # its count against the limits on every process (Hub.admit), if Redis took it
        self.queue: asyncio.Queue[bytes | Pong | int] = asyncio.Queue()
        self.queued_bytes = 0
        self.min_seq = 0  # live events at or below this were in the welcome snapshot
        self.closing: int | None = None
        # Until the welcome (or the replay) is queued, live events wait here, so that none overtakes it.
        self.held: list[tuple[bytes, int]] | None = []

    def deliver(self, data: bytes | Pong, seq: int, *, live: bool = True) -> None:
        if live and self.held is not None and isinstance(data, bytes):
            self.held.append((data, seq))
            return
        if seq and seq <= self.min_seq:
            return
        if self.closing is not None:
            return
        size = len(data) if isinstance(data, bytes) else 64
        if self.queued_bytes + size > SEND_QUEUE_BYTES or self.queue.qsize() >= SEND_QUEUE_ITEMS:
            log.warning(
                "room %s: user %s stopped reading; dropped (%s)", self.room_id, self.user_id, protocol.CLOSE_SLOW
            )
            while not self.queue.empty():  # it would never read them: free them now, and close next
                self.queue.get_nowait()
            self.queued_bytes = 0
            self.kick(protocol.CLOSE_SLOW)
            return
        self.queued_bytes += size
        self.queue.put_nowait(data)

    def kick(self, code: int) -> None:
        if self.closing is None:
            self.closing = code
            self.queue.put_nowait(code)  # after what is queued (an error that explains the close, say)

    def send(self, message: dict[str, Any]) -> None:
        self.deliver(orjson.dumps(message), 0, live=False)

    def go_live(self) -> None:
        """The greeting is queued: release the live events that came meanwhile, minus those it covered."""
        held, self.held = self.held or [], None
        for data, seq in held:
            self.deliver(data, seq)

    async def sender(self) -> None:
        while True:
            item = await self.queue.get()
            self.queued_bytes -= len(item) if isinstance(item, bytes) else 64
            if isinstance(item, int):
                with contextlib.suppress(Exception):
                    await self.ws.close(code=item)
                return
            if isinstance(item, Pong):
                t2 = protocol.ms(self.clock())
                await self.ws.send_text(
                    orjson.dumps({"type": "pong", "id": item.ping_id, "t0": item.t0, "t1": item.t1, "t2": t2}).decode()
                )
                continue
            await self.ws.send_text(item.decode())


def origin_allowed(ws: WebSocket, services: Services) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser
    allowed = set(services.settings.cors_origins) | {services.settings.base_url}
    host = ws.headers.get("host")
    if services.settings.worker_in_process and host:  # embedded mode: the page we serve ourselves
        allowed |= {f"http://{host}", f"https://{host}"}
    return origin.rstrip("/") in {o.rstrip("/") for o in allowed}


async def _refuse(ws: WebSocket, room_id: int, why: str) -> None:
    log.info("room %s: socket refused before accept: %s", room_id, why)
    await ws.close(code=1008)  # before accept: the server answers 403


async def _accept_and_close(ws: WebSocket, room_id: int, code: int, why: str) -> None:
    """A refusal the client must not retry: accepted, told why, and closed with a documented code (a 403 before
    accept reaches a browser as 1006, which it retries forever)."""
    log.info("room %s: socket closed at once (%s): %s", room_id, code, why)
    await ws.accept()
    with contextlib.suppress(Exception):
        code_word = "not_a_member" if code == protocol.CLOSE_NOT_MEMBER else "too_many"
        await ws.send_text(orjson.dumps(protocol.error(code_word, why)).decode())
        await ws.close(code=code)
        await _drain(ws)


def _local_verdict(local: set[Connection], user_id: int) -> int:
    """The limits on this process's own sockets (Hub.admit's answers): when Redis cannot count them all."""
    if len(local) >= MAX_PER_ROOM:
        return 1
    return 2 if sum(1 for c in local if c.user_id == user_id) >= MAX_PER_USER else 0


async def run(ws: WebSocket, services: Services, hub: Hub, room_id: int, ticket: str | None) -> None:
    if not origin_allowed(ws, services):
        return await _refuse(ws, room_id, "origin not allowed")
    user_id = await service.redeem_ticket(services, hub.redis, room_id, ticket or "")
    if user_id is None:
        return await _refuse(ws, room_id, "no such ticket (missing, used, expired or for another room)")
    async with services.db.session() as session:
        role = await service.member_role(session, room_id, user_id)
        user = await users_service.get_user(session, user_id)
        muted = await service.muted(session, room_id, user_id)
    if role is None or user is None:
        return await _accept_and_close(ws, room_id, protocol.CLOSE_NOT_MEMBER, "you are not a member of this room")
    # the limits hold on every process together (a lease per socket in Redis); with Redis failing, each process
    # holds them for its own sockets
    token = secrets.token_hex(8)
    lease: str | None = token
    try:
        verdict = await hub.admit(room_id, user_id, token, MAX_PER_ROOM, MAX_PER_USER)
    except Exception:
        lease, verdict = None, _local_verdict(hub.local.get(room_id, set()), user_id)
    if verdict == 1:
        return await _accept_and_close(ws, room_id, protocol.CLOSE_TOO_MANY, f"the room is full ({MAX_PER_ROOM})")
    if verdict == 2:
        why = f"you have {MAX_PER_USER} connections to this room already"
        return await _accept_and_close(ws, room_id, protocol.CLOSE_TOO_MANY, why)
    conn = Connection(ws, room_id, user_id, hub.clock, role)
    conn.lease = lease
    # without a lease, the local check above and this count are one step: no await between them
    first = hub.reserve(room_id, conn)
    try:
        await ws.accept()
        if first:
            await hub.subscribe(room_id)
    except BaseException:
        await hub.detach(room_id, conn)
        raise
    sender = asyncio.get_running_loop().create_task(conn.sender())
    arrived = False
    peer_gone = False
    try:
        joined = await hub.arrive(room_id, user_id)
        arrived = True  # counted: its departure is counted too (not when Redis failed before the count)
        await _greet(conn, hub, room_id, user_id, role, user.username, announce=joined, muted=muted)
        peer_gone = await _receive(conn, ws, services, hub, room_id, user_id)
    except WebSocketDisconnect:
        peer_gone = True
    except protocol.BadMessage as exc:  # the first frame was not a hello (or was over the size limit)
        if exc.code == "too_big":
            conn.kick(protocol.CLOSE_TOO_BIG)
        else:
            conn.send(protocol.error(exc.code, str(exc)))
            conn.kick(protocol.CLOSE_NOT_HELLO)
    except TimeoutError:
        conn.kick(protocol.CLOSE_IDLE)
    except LiveRoomGone:
        conn.kick(protocol.CLOSE_NOT_MEMBER)
    except Exception:  # Redis or the database failed under us: the client reconnects and resumes
        log.exception("room %s: connection of user %s failed", room_id, user_id)
        conn.kick(protocol.CLOSE_INTERNAL)
    finally:
        await hub.detach(room_id, conn)
        if conn.closing is None:
            conn.kick(protocol.CLOSE_NORMAL)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await sender
        if not peer_gone:
            await _drain(ws)
        if arrived:
            with contextlib.suppress(Exception):
                await hub.depart(room_id, user_id, user.username)


async def _drain(ws: WebSocket) -> None:
    """After our close frame, read until the client's answer (or a deadline), as the closing handshake asks."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_DRAIN_SECONDS):
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass


async def _quiet(ws: WebSocket) -> None:
    """Before closing a client that sends too much: read and drop its frames until it pauses (QUIET_SECONDS with
    nothing) or CLOSE_DRAIN_SECONDS pass. granian drops the receiving half as soon as the application sends
    `websocket.close` (granian issue #798), so it never waits for the client's close; a TCP socket closed with
    frames still unread in its buffer is reset, and a reset client loses our close frame and reports 1006. Read
    to a pause first, and the close (4008, 1009) arrives."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOSE_DRAIN_SECONDS
    with contextlib.suppress(Exception):
        while (left := deadline - loop.time()) > 0:
            async with asyncio.timeout(min(QUIET_SECONDS, left)):
                frame = await ws.receive()
            if frame["type"] == "websocket.disconnect":
                return


async def _greet(
    conn: Connection,
    hub: Hub,
    room_id: int,
    user_id: int,
    role: str,
    username: str,
    *,
    announce: bool,
    muted: dict[str, Any] | None = None,
) -> None:
    async with asyncio.timeout(IDLE_SECONDS):
        first = await conn.ws.receive_text()
    hello = protocol.parse(first)
    if not isinstance(hello, protocol.Hello):
        raise protocol.BadMessage("invalid", "the first message must be hello")
    await hub.apply(room_id, engine.Join(user_id, role))  # type: ignore[arg-type]
    if hello.last_seq is not None:
        missed = await hub.missed(room_id, hello.last_seq, hello.epoch)
        if missed is not None:
            conn.epoch = hello.epoch
            for raw in missed:
                conn.deliver(raw, 0, live=False)
            conn.min_seq = max([hello.last_seq, *(orjson.loads(r)["seq"] for r in missed)])
            conn.go_live()
            return
    state, seq = await hub.snapshot(room_id)
    me = state.viewers.get(user_id)
    conn.role = me.role if me is not None else role  # the live room's, which a role change reached first
    conn.min_seq, conn.epoch = seq, state.epoch
    you = protocol.you(user_id, conn.role, open_control=state.open_control, members_add=state.members_add)
    del you["type"]
    item_id = state.playback.item_id
    skip = None
    if item_id is not None:
        needed = playlist.skips_needed(len(engine.skip_voters(state)), state.skip_ratio)
        skip = protocol.skip_votes(item_id, state.skip_votes & set(engine.skip_voters(state)), needed)
    conn.send(
        {
            "type": "welcome",
            "v": protocol.VERSION,
            "seq": seq,
            "epoch": state.epoch,
            "you": you,
            "state": protocol.state(state.playback),
            "params": protocol.params(hub.params),
            "viewers": [protocol.viewer(v) for v in state.viewers.values()],
            "openControl": state.open_control,
            "serverTime": protocol.ms(hub.clock()),
            "skip": skip,
            "muted": muted,
        }
    )
    conn.go_live()
    if announce:
        await hub.publish(
            room_id, [{"type": "presence", "event": "join", "user": {"id": user_id, "username": username}}]
        )


async def _receive(conn: Connection, ws: WebSocket, services: Services, hub: Hub, room_id: int, user_id: int) -> bool:
    """The connection's frames until it closes; True if the client went away (nothing left to drain)."""
    chat_bucket, control_bucket, clock_bucket = Bucket(5, 10), Bucket(10, 20), Bucket(20, 40)
    strikes = Bucket(STRIKES_PER_SECOND, STRIKES)
    while conn.closing is None:
        try:
            async with asyncio.timeout(IDLE_SECONDS):
                frame = await ws.receive()
        except TimeoutError:
            conn.kick(protocol.CLOSE_IDLE)
            return False
        if frame["type"] == "websocket.disconnect":
            return True
        text: str = frame.get("text") or (frame.get("bytes") or b"").decode("utf-8", "replace")
        if len(text.encode()) > protocol.MAX_FRAME_BYTES:
            await _quiet(ws)
            conn.kick(protocol.CLOSE_TOO_BIG)
            return False
        try:
            message = protocol.parse(text)
        except protocol.BadMessage as exc:
            conn.send(protocol.error(exc.code, str(exc)))
            continue
        if isinstance(message, protocol.ChatIn):
            bucket = chat_bucket
        elif isinstance(message, protocol.Ping | protocol.Report):
            bucket = clock_bucket
        else:
            bucket = control_bucket
        if not bucket.take():
            if not strikes.take():
                await _quiet(ws)
                conn.kick(protocol.CLOSE_FLOOD)
                return False
            conn.send(protocol.error("rate_limited", "slow down"))
            continue
        await _handle(conn, message, services, hub, room_id, user_id)
    return False


async def _handle(conn: Connection, message: Any, services: Services, hub: Hub, room_id: int, user_id: int) -> None:
    now_ms = protocol.ms(hub.clock())
    match message:
        case protocol.Ping(id=ping_id, t0=t0):
            conn.deliver(Pong(ping_id, t0, now_ms), 0, live=False)
        case protocol.CommandIn(action="changeMedia"):
            version = (await hub.playback(room_id)).version
            if message.base_version != version:
                _reject(conn, "stale_version", version, "the state changed; here is the new one")
                return
            await _flow(conn, hub, services, room_id, user_id, room_flows.set_media, message.media_id)
        case protocol.CommandIn():
            action: engine.Action = message.action  # type: ignore[assignment]  # changeMedia is handled above
            cmd = engine.Command(user_id, action, message.base_version, message.position, message.rate)
            _reply_rejections(conn, await hub.apply(room_id, cmd))
        case protocol.BufferingIn():
            await hub.apply(room_id, engine.Buffering(user_id))
        case protocol.ReadyIn():
            await hub.apply(room_id, engine.Ready(user_id))
        case protocol.DurationIn():
            await hub.apply(room_id, engine.MediaDuration(message.media_id, message.seconds))
            state, _ = await hub.snapshot(room_id)
            hub.arm(room_id, engine.next_deadline(state, hub.params))
        case protocol.SetRoleIn():
            await _flow(conn, hub, services, room_id, user_id, room_flows.set_role, message.user_id, message.role)
        case protocol.SetOpenControlIn():
            await _flow(conn, hub, services, room_id, user_id, room_flows.set_open_control, message.open)
        case protocol.ChatIn():
            playback = await hub.playback(room_id)
            try:
                async with services.db.session() as session:
                    user = await users_service.get_user(session, user_id)
                    assert user is not None
                    # once anything has played; never before 0 (a play scheduled a moment ahead has not started)
                    position = playback.position_at(hub.clock()) if playback.version > 0 else None
                    data = MessageCreate(content=message.content, video_position=position, reply_to=message.reply_to)
                    await chat_service.post_message(session, services, room_id, user, data)
            except ValidationError as exc:
                conn.send(protocol.error("invalid", _first_error(exc)))
            except (Muted, SlowMode, Filtered) as exc:  # their codes: muted, slow_mode, filtered
                conn.send(protocol.error(exc.code, exc.detail_message))
            except AppError as exc:  # e.g. the membership ended between two messages
                conn.send(protocol.error("not_a_member" if exc.status_code == 403 else "invalid", exc.detail_message))
        case protocol.Report():
            playback = await hub.playback(room_id)
            if not playback.paused and message.server_time / 1000 < playback.anchor > hub.clock():
                return  # a change is pending (the next item starts at its executeAt): nothing to compare it with yet
            skew = engine.skew_ms(playback, message.position, message.server_time / 1000)
            hub.record_skew(
                room_id, user_id, skew, message.rtt, buffering=message.buffering, startup_ms=message.startup_ms
            )
        case protocol.PlaylistIn():
            await _playlist(conn, hub, services, room_id, user_id, message)
        case protocol.VoteSkipIn():
            _reply_rejections(conn, await hub.apply(room_id, engine.VoteSkip(user_id, message.item_id, message.vote)))
        case protocol.AwayIn():
            await hub.apply(room_id, engine.Away(user_id, message.away))
        case protocol.Hello():
            conn.send(protocol.error("invalid", "hello is only the first message"))


async def _flow(
    conn: Connection, hub: Hub, services: Services, room_id: int, user_id: int, flow: Any, *args: Any
) -> None:
    """A change of a durable fact from the socket: the same room flow as the REST call (ADR 0014), which commits
    and then applies it to the live room on every process. A refusal is a `rejected`, as for a command."""
    try:
        async with services.db.session() as session:
            user = await users_service.get_user(session, user_id)
            assert user is not None
            await flow(session, user, room_id, *args)
    except StalePlaylist as exc:  # told the current list, as the REST call's 409 is
        version = (await hub.playback(room_id)).version
        listing = exc.details[0]["playlist"] if exc.details else None
        _reject(conn, "stale_version", version, exc.detail_message, playlist=listing)
    except AppError as exc:
        version = (await hub.playback(room_id)).version
        _reject(conn, "forbidden" if exc.status_code in (401, 403) else "invalid", version, exc.detail_message)


def _playlist_call(message: protocol.PlaylistIn) -> tuple[Any, tuple[Any, ...]]:
    """The playlist flow a `playlist` message asks for, with its arguments checked by the REST body's rules."""
    fields = message.model_dump(by_alias=True, exclude_none=True, exclude={"type", "op"})
    based = fields.get("baseVersion")
    item = message.item_id
    match message.op:
        case "add":
            return playlist_flows.add_item, (ItemAdd.model_validate(fields),)
        case "import":
            return playlist_flows.import_items, (PlaylistImport.model_validate(fields),)
        case "settings":
            return playlist_flows.update_settings, (PlaylistUpdate.model_validate(fields),)
        case "vote":
            return playlist_flows.vote, (_need(item, "itemId"), _need(message.up, "up"))
    version = _need(based, "baseVersion")
    match message.op:
        case "remove":
            return playlist_flows.remove_item, (_need(item, "itemId"), version)
        case "move":
            return playlist_flows.move_item, (_need(item, "itemId"), _need(message.index, "index"), version)
        case "play":
            return playlist_flows.play, (_need(item, "itemId"), version)
        case "next" | "previous":
            return playlist_flows.step, (message.op, version)
        case "clear":
            return playlist_flows.clear, (version,)
    return playlist_flows.shuffle, (version,)


def _need(value: Any, name: str) -> Any:
    if value is None:
        raise ValueError(f"{name}: this operation needs it")
    return value


async def _playlist(
    conn: Connection, hub: Hub, services: Services, room_id: int, user_id: int, message: protocol.PlaylistIn
) -> None:
    try:
        flow, args = _playlist_call(message)
    except (ValidationError, ValueError) as exc:
        why = str(exc) if not isinstance(exc, ValidationError) else _first_error(exc)
        conn.send(protocol.error("invalid", why))
        return
    await _flow(conn, hub, services, room_id, user_id, flow, *args)


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "message"
    return f"{where}: {first['msg']}"


def _reject(conn: Connection, reason: str, version: int, message: str, **extra: Any) -> None:
    conn.send({"type": "rejected", "reason": reason, "version": version, "message": message, **extra})


def _reply_rejections(conn: Connection, events: list[engine.Event]) -> None:
    for event in events:
        if isinstance(event, engine.Rejected) and event.user_id == conn.user_id:
            _reject(conn, event.reason, event.version, event.detail)
