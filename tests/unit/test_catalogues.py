"""The web client's message catalogues: every key in both languages, with the same placeholders, plural forms for
each language's plural rules, and every key the code asks for present."""

from __future__ import annotations

import json
import re

import pytest

from watchparty.web import STATIC_DIR

APP = STATIC_DIR / "app"
LOCALES = {path.stem: json.loads(path.read_text("utf-8")) for path in sorted((APP / "locales").glob("*.json"))}
# CLDR's cardinal categories for integers: what Intl.PluralRules gives each language
PLURALS = {"en": {"one", "other"}, "ru": {"one", "few", "many", "other"}}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _placeholders(value: str | dict[str, str]) -> set[str]:
    texts = value.values() if isinstance(value, dict) else [value]
    return {name for text in texts for name in PLACEHOLDER.findall(text)}


def _code() -> str:
    return "\n".join(path.read_text("utf-8") for path in sorted((APP / "js").glob("*.js")))


def test_both_languages_are_shipped() -> None:
    assert set(LOCALES) == set(PLURALS)


@pytest.mark.parametrize("lang", sorted(PLURALS))
def test_every_key_is_in_every_language(lang: str) -> None:
    missing = set(LOCALES["en"]) - set(LOCALES[lang])
    extra = set(LOCALES[lang]) - set(LOCALES["en"])
    assert not missing, f"missing in {lang}: {sorted(missing)}"
    assert not extra, f"only in {lang}: {sorted(extra)}"


@pytest.mark.parametrize("lang", sorted(PLURALS))
def test_values_keep_their_placeholders_and_plural_forms(lang: str) -> None:
    for key, value in LOCALES[lang].items():
        english = LOCALES["en"][key]
        assert value, f"{lang} {key} is empty"
        assert _placeholders(value) == _placeholders(english), f"{lang} {key}: placeholders differ from English"
        if isinstance(english, dict) or isinstance(value, dict):
            assert isinstance(value, dict), f"{lang} {key} must have plural forms"
            assert set(value) == PLURALS[lang], f"{lang} {key}: forms {sorted(value)}, need {sorted(PLURALS[lang])}"


def test_every_key_the_client_asks_for_exists() -> None:
    code = _code()
    asked = set(re.findall(r"""\bt\(\s*"([\w.]+)\"""", code))
    assert asked, "the client asks for no key at all"
    assert not asked - set(LOCALES["en"]), (
        f"keys the client uses but no catalogue has: {sorted(asked - set(LOCALES['en']))}"
    )
    for prefix in set(re.findall(r"\bt\(\s*`([\w.]+)\.\$\{", code)):  # t(`role.${role}`): some key of each family
        assert any(k.startswith(f"{prefix}.") for k in LOCALES["en"]), prefix


# A sentence written into the code instead of the catalogue: two or more words in quotes, starting with a capital.
_SENTENCE = re.compile(r"""(["'])[A-Z][a-z']+(?: [A-Za-z'’]+)+[.…!?:]?\1|`[A-Z][a-z']+ [^`]*`""")
_COMMENT = re.compile(r"(^|\s)//.*$")
_NOT_WORDS = {"`Bearer ${s.token}`"}  # an HTTP header, not words for people


def test_no_sentence_is_written_into_the_client_code() -> None:
    found = []
    for path in sorted((APP / "js").glob("*.js")):
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            words = [m.group(0) for m in _SENTENCE.finditer(_COMMENT.sub("", line))]
            found += [f"{path.name}:{n}: {w}" for w in words if w not in _NOT_WORDS]
    assert not found, "words for people belong in locales/*.json:\n" + "\n".join(found)
