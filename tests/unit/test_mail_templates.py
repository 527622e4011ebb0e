"""Email bodies are pure functions of their inputs: HTML is escaped, the text part is not."""

from watchparty.mail import templates


def test_reset_mail_carries_the_link_and_the_expiry() -> None:
    mail = templates.render(
        "password_reset", "a@example.com", templates.password_reset("ann", "http://x/r?token=t0k", 30)[1]
    )
    assert mail.to == "a@example.com"
    assert mail.subject == "Reset your WatchParty password"
    assert "http://x/r?token=t0k" in mail.text
    assert "30 minutes" in mail.text
    assert 'href="http://x/r?token=t0k"' in mail.html


def test_invite_names_the_room_and_the_inviter() -> None:
    name, context = templates.room_invite("ann", "Movie night", "http://x/invite/abc", 7)
    mail = templates.render(name, "b@example.com", context)
    assert mail.subject == "ann invited you to watch together"
    assert '"Movie night"' in mail.text
    assert "<strong>Movie night</strong>" in mail.html
    assert "http://x/invite/abc" in mail.text


def test_html_part_escapes_user_text_and_text_part_keeps_it() -> None:
    name, context = templates.room_invite("ann", "<script>alert(1)</script> & co", "http://x/i?a=1&b=2", 7)
    mail = templates.render(name, "b@example.com", context)
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in mail.html
    assert 'href="http://x/i?a=1&amp;b=2"' in mail.html
    assert "<script>alert(1)</script> & co" in mail.text


def test_unknown_template_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="unknown email template"):
        templates.render("nope", "a@example.com", {})


def test_every_template_is_in_every_language_with_the_same_fields() -> None:
    """The email side of the catalogue check: a template missing in one language fails here."""
    from pathlib import Path

    root = Path(templates.__file__).parent / "jinja"
    files = {lang: sorted(p.name for p in (root / lang).iterdir()) for lang in templates.LANGUAGES}
    assert all(names == files["en"] for names in files.values()), files
    assert all(set(subjects) == set(templates.SUBJECTS["en"]) for subjects in templates.SUBJECTS.values())
    contexts = [
        templates.welcome("аня", "http://x"),
        templates.password_reset("аня", "http://x/r?token=t", 30),
        templates.room_invite("аня", "Кино", "http://x/invite/abc", 7),
    ]
    for name, context in contexts:
        for lang in templates.LANGUAGES:
            mail = templates.render(name, "b@example.com", context, lang)  # StrictUndefined: every field is known
            assert mail.subject and mail.text.strip() and f'lang="{lang}"' in mail.html


def test_a_russian_email_is_in_russian_and_an_unknown_language_is_english() -> None:
    name, context = templates.room_invite("аня", "Кино", "http://x/invite/abc", 7)
    mail = templates.render(name, "b@example.com", context, "ru")
    assert mail.subject == "аня приглашает вас посмотреть вместе"
    assert "«Кино»" in mail.text and "Войти в комнату" in mail.html
    assert templates.render(name, "b@example.com", context, "xx").subject == "аня invited you to watch together"
