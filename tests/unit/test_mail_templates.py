"""Email bodies are pure functions of their inputs."""

from watchparty.mail import templates


def test_reset_mail_carries_the_link_and_the_expiry() -> None:
    mail = templates.password_reset("a@example.com", "ann", "http://x/reset-password?token=t0k", 30)
    assert mail.to == "a@example.com"
    assert "http://x/reset-password?token=t0k" in mail.text
    assert "30 minutes" in mail.text


def test_invite_names_the_room_and_the_inviter() -> None:
    mail = templates.room_invite("b@example.com", "ann", "Movie night", "http://x/invite/abc")
    assert "ann" in mail.subject
    assert '"Movie night"' in mail.text
    assert "http://x/invite/abc" in mail.text
