"""The room policy: role x action, the one place the rules live."""

from __future__ import annotations

import pytest

from watchparty.rooms import policy


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("host", set(policy.ACTIONS)),
        (
            "moderator",
            {
                "control",
                "changeMedia",
                "addItem",
                "editPlaylist",
                "vote",
                "voteSkip",
                "kick",
                "ban",
                "mute",
                "moderationLog",
                "moderateChat",
            },
        ),
        ("member", {"vote", "voteSkip"}),
        ("guest", {"vote", "voteSkip"}),
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


def test_guests_are_below_members() -> None:
    assert not policy.allowed("guest", "addItem", members_add=True)  # membersAdd reaches members, not guests
    assert policy.allowed("guest", "control", open_control=True)  # open control reaches everyone in the room


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


@pytest.mark.parametrize(
    ("asker", "action", "target", "itself", "admin", "why"),
    [
        ("host", "kick", "member", False, False, None),
        ("host", "ban", "moderator", False, False, None),
        ("moderator", "mute", "member", False, False, None),
        ("moderator", "ban", None, False, False, None),  # a ban reaches someone who is not (or no longer) a member
        ("host", "kick", "host", True, False, "you cannot kick yourself"),
        ("moderator", "mute", "moderator", True, False, "you cannot mute yourself"),
        ("moderator", "kick", "host", False, False, "the host cannot be kicked; the host role moves by hand-over"),
        ("moderator", "ban", "moderator", False, False, "only the host can ban a moderator"),
        ("host", "ban", "member", False, True, "a site administrator cannot be banned"),
        ("host", "ban", None, False, True, "a site administrator cannot be banned"),
    ],
)
def test_who_may_be_moderated(
    asker: str, action: policy.Moderation, target: str | None, itself: bool, admin: bool, why: str | None
) -> None:
    assert policy.may_moderate(asker, action, target, itself=itself, admin=admin) == why


def test_the_host_role_is_handed_to_a_member_only() -> None:
    assert policy.may_hand_over("host", "member", itself=False) is None
    assert policy.may_hand_over("host", "moderator", itself=False) is None
    assert policy.may_hand_over("host", None, itself=False) == "only a member of the room can become its host"
    assert policy.may_hand_over("host", "host", itself=True) == "you are the host already"
    assert policy.may_hand_over("host", "guest", itself=False) == "a guest cannot host a room; they can sign up first"
    assert not policy.allowed("moderator", "handOver")
