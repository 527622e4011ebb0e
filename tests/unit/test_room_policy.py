"""The room policy: role x action, the one place the rules live."""

from __future__ import annotations

import pytest

from watchparty.rooms import policy


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("host", set(policy.ACTIONS)),
        ("moderator", {"control", "changeMedia", "addItem", "editPlaylist", "vote", "voteSkip"}),
        ("member", {"vote", "voteSkip"}),
        (None, set()),
        ("admin", set()),  # a site administrator is nobody in a room they have not joined
    ],
)
def test_each_role_may_do_exactly_its_actions(role: str | None, allowed: set[str]) -> None:
    assert {a for a, yes in policy.can(role).items() if yes} == allowed


def test_open_control_lets_members_control_playback_and_nothing_more() -> None:
    assert policy.allowed("member", "control", open_control=True)
    assert not policy.allowed("member", "changeMedia", open_control=True)
    assert not policy.allowed(None, "control", open_control=True)


def test_members_add_lets_members_add_items_and_edit_nothing() -> None:
    assert policy.allowed("member", "addItem", members_add=True)
    assert not policy.allowed("member", "addItem")
    assert not policy.allowed("member", "editPlaylist", members_add=True)
    assert not policy.allowed(None, "addItem", members_add=True)


def test_role_changes() -> None:
    assert policy.may_assign("host", "member", "moderator") is None
    assert policy.may_assign("host", "moderator", "member") is None
    assert policy.may_assign("moderator", "member", "moderator") == "only the host changes roles"
    assert policy.may_assign("host", None, "moderator") == "no such member in this room"
    assert policy.may_assign("host", "member", "host") == "the host role is handed over, not assigned"
    assert policy.may_assign("host", "host", "member") == "the host's role changes only by hand-over"
