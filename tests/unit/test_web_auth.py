from pathlib import Path

import pytest

from streams.web.auth import (
    Principal,
    Role,
    TokenFileError,
    Tokens,
    bearer,
    digest,
    load_tokens,
    parse_tokens,
)

JN = "jiangning-edz"


def entry(name: str, token: str, role: str, zone: str | None = None) -> dict:
    e = {"name": name, "sha256": digest(token), "role": role}
    return e if zone is None else {**e, "zone": zone}


def tokens() -> Tokens:
    return parse_tokens([entry("eco", "t-eco", "ecology"), entry("ema", "t-ema", "emergency"),
                         entry("ops", "t-ops", "admin"), entry("jn", "t-jn", "zone", JN)])


def test_a_token_maps_to_its_entry_by_hash_only() -> None:
    t = tokens()
    assert t.authenticate("t-jn") == Principal("jn", Role.ZONE, JN)
    assert t.authenticate("t-eco") == Principal("eco", Role.ECOLOGY)
    assert t.authenticate(digest("t-eco")) is None  # the digest is not the token
    assert t.authenticate("t-ec") is None
    assert t.authenticate("") is None and t.authenticate(None) is None


def test_upper_case_hex_digests_match_too() -> None:
    t = parse_tokens([{**entry("a", "secret", "admin"), "sha256": digest("secret").upper()}])
    assert t.authenticate("secret") == Principal("a", Role.ADMIN)


@pytest.mark.parametrize("role", ["ecology", "emergency", "admin"])
def test_city_roles_see_every_zone_and_zonewatch_itself(role: str) -> None:
    who = Principal("x", Role(role))
    assert who.can_see(JN) and who.can_see("pukou-edz") and who.can_see("_system")
    assert not who.limited


def test_a_zone_token_sees_its_zone_only() -> None:
    who = Principal("jn", Role.ZONE, JN)
    assert who.can_see(JN)
    assert not who.can_see("pukou-edz") and not who.can_see("_system")
    assert who.limited


def problems(data: object) -> list[str]:
    with pytest.raises(TokenFileError) as e:
        parse_tokens(data, "tokens.yaml")
    return e.value.issues


def test_every_bad_entry_is_named_with_what_is_wrong() -> None:
    issues = problems([
        entry("ok", "a", "admin"),
        {"name": "short", "sha256": "abc", "role": "admin"},
        {"name": "who", "sha256": digest("b"), "role": "mayor"},
        {"name": "nozone", "sha256": digest("c"), "role": "zone"},
        {"sha256": digest("d"), "role": "admin"},
        {"name": "extra", "sha256": digest("e"), "role": "admin", "token": "e"},
        "not a mapping",
    ])
    text = "\n".join(issues)
    assert "entry 2 ('short'): sha256" in text
    assert "entry 3 ('who'): role" in text
    assert "entry 4 ('nozone')" in text and "needs the zone" in text
    assert "entry 5: name" in text
    assert "entry 6 ('extra'): token" in text
    assert "entry 7" in text
    assert not any("entry 1 " in i for i in issues)


def test_a_city_role_with_a_zone_is_refused_rather_than_silently_widened() -> None:
    assert "drop 'zone'" in problems([entry("eco", "a", "ecology", JN)])[0]


def test_duplicate_names_and_digests_are_refused() -> None:
    issues = problems([entry("a", "x", "admin"), entry("a", "y", "admin"),
                       entry("b", "x", "ecology")])
    assert any("name 'a' appears twice" in i for i in issues)
    assert any("'b': the same sha256" in i for i in issues)


def test_the_file_must_be_a_list() -> None:
    assert "must be a list" in problems({"name": "a"})[0]


def test_load_reads_yaml_and_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(f"- {{name: eco, sha256: {digest('s')}, role: ecology}}\n")
    assert load_tokens(path).authenticate("s") == Principal("eco", Role.ECOLOGY)
    path.write_text("- {name: eco, sha256: nothex, role: ecology}\n")
    with pytest.raises(TokenFileError, match=str(path)):
        load_tokens(path)
    path.write_text("- [unclosed\n")
    with pytest.raises(TokenFileError, match="not YAML"):
        load_tokens(path)
    with pytest.raises(TokenFileError, match="cannot read"):
        load_tokens(tmp_path / "missing.yaml")


def test_no_file_means_no_token_works(tmp_path: Path) -> None:
    assert len(load_tokens(None)) == 0 and load_tokens(None).authenticate("x") is None
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert len(load_tokens(empty)) == 0


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("Bearer", None),
    ("", None), ("abc", None)])
def test_bearer_header(header: str, token: str | None) -> None:
    assert bearer({"Authorization": header}) == token
    assert bearer({}) is None
