"""Bearer tokens (SPEC "Configuration": `ZW_TOKENS_FILE`) and who they let see what.

The file holds only SHA-256 digests of the tokens, never the tokens. It is read and checked
once at start; every problem is reported with the entry it is in, so a bad file stops the
worker with a message instead of locking everybody out at the first request.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class Role(StrEnum):
    ECOLOGY = "ecology"
    EMERGENCY = "emergency"
    ADMIN = "admin"
    ZONE = "zone"
    METRICS = "metrics"
    """Reads /metrics and nothing else: what a Prometheus scrape is given (it can neither
    acknowledge alerts nor declare maintenance)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a token's name and role, and the zone a `zone` token is limited to."""

    name: str
    role: Role
    zone: str | None = None

    def can_see(self, zone: str) -> bool:
        """City roles see every zone (and zonewatch's own alerts); a zone token only its own."""
        return self.role is not Role.ZONE or zone == self.zone

    @property
    def limited(self) -> bool:
        return self.role is Role.ZONE


class TokenEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    role: Role
    zone: str | None = None

    @model_validator(mode="after")
    def _zone_fits_role(self) -> TokenEntry:
        if self.role is Role.ZONE and not self.zone:
            raise ValueError("role 'zone' needs the zone it may see")
        if self.role is not Role.ZONE and self.zone:
            raise ValueError(f"role {self.role.value!r} sees every zone: drop 'zone'")
        return self


class TokenFileError(ValueError):
    """The tokens file cannot be used; `issues` names each problem by its entry."""

    def __init__(self, source: str, issues: Sequence[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(issues))
        self.source, self.issues = source, list(issues)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    """The known tokens; `authenticate` compares every digest in constant time."""

    def __init__(self, entries: Iterable[TokenEntry] = ()) -> None:
        self._entries = [(bytes.fromhex(e.sha256), e) for e in entries]

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, token: str | None) -> Principal | None:
        """The principal of `token`, or None. Every entry is compared, match or not, so the
        time taken does not tell how close a guess was nor where in the file it matched."""
        if not token:
            return None
        given = hashlib.sha256(token.encode()).digest()
        found: TokenEntry | None = None
        for expected, entry in self._entries:
            if hmac.compare_digest(given, expected):
                found = entry
        return None if found is None else Principal(found.name, found.role, found.zone)


def parse_tokens(data: Any, source: str = "tokens") -> Tokens:
    """Check every entry of the parsed YAML; raise `TokenFileError` listing all problems."""
    if data is None:
        data = []
    if not isinstance(data, list):
        raise TokenFileError(source, ["must be a list of {name, sha256, role, zone}"])
    entries, issues = [], []
    for i, raw in enumerate(data):
        label = _label(i, raw)
        try:
            entries.append(TokenEntry.model_validate(raw))
        except ValidationError as e:
            issues += [f"{label}: {_where(err)}{err['msg']}" for err in e.errors()]
    issues += _duplicates(entries)
    if issues:
        raise TokenFileError(source, issues)
    return Tokens(entries)


def load_tokens(path: Path | None) -> Tokens:
    """Read `ZW_TOKENS_FILE`; no file configured means no token works (every request 401)."""
    if path is None:
        return Tokens()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise TokenFileError(str(path), [f"cannot read: {e.strerror or e}"]) from e
    except yaml.YAMLError as e:
        raise TokenFileError(str(path), [f"not YAML: {e}"]) from e
    return parse_tokens(data, str(path))


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer …` header, if there is one."""
    scheme, _, token = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _label(i: int, raw: Any) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return f"entry {i + 1}" + (f" ({name!r})" if isinstance(name, str) and name else "")


def _where(err: Mapping[str, Any]) -> str:
    loc = ".".join(str(x) for x in err.get("loc", ()))
    return f"{loc}: " if loc else ""


def _duplicates(entries: list[TokenEntry]) -> list[str]:
    """Two entries with one name make logs ambiguous; one digest in two entries, ambiguous
    rights."""
    issues, names, digests = [], set(), set()
    for e in entries:
        if e.name in names:
            issues.append(f"name {e.name!r} appears twice")
        if e.sha256.lower() in digests:
            issues.append(f"entry {e.name!r}: the same sha256 as an earlier entry")
        names.add(e.name)
        digests.add(e.sha256.lower())
    return issues
