"""Settings of the worker's HTTP side: who may call it, and how far back it looks."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZW_", frozen=True, extra="ignore")

    tokens_file: Path | None = None
    """YAML list of {name, sha256, role, zone}; unset: no token is valid, the API answers 401."""
    coverage_max_age_s: float = Field(default=900, gt=0)
    """A zone's newest coverage point older than this is "no data", not a figure."""
    trend_hours: float = Field(default=24, gt=0, le=24 * 31)
    """The overview's sparkline span."""
    completeness_default_h: float = Field(default=24, gt=0)
    """The zone page's completeness period when `from`/`to` are not given."""
    maintenance_max_days: float = Field(default=31, gt=0)
    """The longest maintenance window the API accepts: longer planned work goes in the
    registry, where it is reviewed with the rest."""
