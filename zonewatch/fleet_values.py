"""Plausible values for simulated monitoring points: a level, a slow daily swing and noise.

Pure: randomness comes from the `random.Random` passed in. Each factor gets its own profile
once, so sampling a reading is a few float operations per factor, cheap at 10,000 messages/s.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import Enum

DAY_S = 86_400.0
_OMEGA = 2 * math.pi / DAY_S


class Behaviour(Enum):
    """How a factor reacts when production stops: concentrations fall, flows stop, levels stay."""

    CONCENTRATION = "concentration"
    FLOW = "flow"
    LEVEL = "level"


@dataclass(frozen=True, slots=True)
class _Known:
    low: float
    high: float
    digits: int
    behaviour: Behaviour


_KNOWN: dict[str, _Known] = {
    "w01001": _Known(6.6, 7.8, 2, Behaviour.LEVEL),           # pH: its limit is a range end
    "w00000": _Known(2.0, 40.0, 2, Behaviour.FLOW),           # wastewater flow, L/s
    "a00000": _Known(20.0, 200.0, 1, Behaviour.FLOW),         # flue gas flow, m3/s
    "a01011": _Known(5.0, 15.0, 2, Behaviour.FLOW),           # flue gas velocity, m/s
    "a01012": _Known(60.0, 140.0, 1, Behaviour.LEVEL),        # flue gas temperature, °C
    "a01013": _Known(-0.5, 0.5, 3, Behaviour.LEVEL),          # flue gas pressure, kPa
    "a01014": _Known(5.0, 12.0, 2, Behaviour.LEVEL),          # flue gas humidity, %
    "a19001": _Known(8.0, 14.0, 2, Behaviour.LEVEL),          # oxygen, %
    "tank_temp": _Known(18.0, 30.0, 1, Behaviour.LEVEL),      # tank temperature, °C
}


_TYPICAL: dict[str, tuple[float, float]] = {
    "w01018": (20.0, 60.0),   # COD, mg/L
    "w21003": (0.5, 5.0),     # ammonia nitrogen, mg/L
    "w21011": (0.1, 0.5),     # total phosphorus, mg/L
    "w21001": (5.0, 15.0),    # total nitrogen, mg/L
    "a21026": (5.0, 30.0),    # SO2, mg/m3
    "a21002": (10.0, 60.0),   # NOx, mg/m3
    "a34013": (1.0, 10.0),    # particulate matter, mg/m3
    "a24088": (2.0, 20.0),    # VOCs (non-methane hydrocarbons), mg/m3
}
"""Levels of common pollutants, for points registered without a limit on them."""


@dataclass(frozen=True, slots=True)
class FactorProfile:
    """One factor of one point: where it sits, how much it wanders, where its limit is."""

    code: str
    base: float
    noise: float
    drift: float
    phase: float
    digits: int
    limit: float | None
    behaviour: Behaviour


def factor_profile(code: str, limit: float | None, rng: random.Random) -> FactorProfile:
    """A level 30–70 % of the limit where there is one; known physics for pH, flow, heat."""
    phase = rng.uniform(0, 2 * math.pi)
    known = _KNOWN.get(code)
    if known is not None:
        base = rng.uniform(known.low, known.high)
        spread = (known.high - known.low) / 20
        return FactorProfile(code, base, spread, 2 * spread, phase, known.digits, limit,
                             known.behaviour)
    if code.startswith("gas_") and limit:
        # Gas detectors sit near zero; halfway to the alarm would itself be an incident.
        base = rng.uniform(0.0, 0.06) * limit
        return FactorProfile(code, base, 0.01 * limit, 0.01 * limit, phase, 2, limit,
                             Behaviour.CONCENTRATION)
    base = rng.uniform(0.3, 0.7) * limit if limit else rng.uniform(*_TYPICAL.get(code, (5, 50)))
    return FactorProfile(code, base, 0.05 * base, 0.1 * base, phase, 3 if base < 10 else 2,
                         limit, Behaviour.CONCENTRATION)


def profiles(factors: list[str], limits: dict[str, float],
             rng: random.Random) -> tuple[FactorProfile, ...]:
    """The profiles of a point's factors, in the registry's order."""
    return tuple(factor_profile(code, limits.get(code), rng) for code in factors)


def sample_all(points: tuple[FactorProfile, ...], t: float,
               rng: random.Random) -> dict[str, float]:
    """Values at epoch second `t`: level + daily swing + noise, never below zero for amounts.
    One loop with local names, as this runs for every reading sent."""
    gauss, sin, level, out = rng.gauss, math.sin, Behaviour.LEVEL, {}
    for p in points:
        value = p.base + p.drift * sin(t * _OMEGA + p.phase) + gauss(0.0, p.noise)
        if value < 0 and p.behaviour is not level:
            value = 0.0
        out[p.code] = round(value, p.digits)
    return out


def stopped_value(profile: FactorProfile, value: float) -> float:
    """Production stopped: flows go to zero, concentrations drop to a trace, levels stay."""
    if profile.behaviour is Behaviour.FLOW:
        return 0.0
    if profile.behaviour is Behaviour.CONCENTRATION:
        return round(value * 0.05, profile.digits)
    return value


def exceeding_value(profile: FactorProfile, rng: random.Random) -> float:
    """A value 5–40 % over the limit: what an exceedance looks like on the wire."""
    assert profile.limit is not None
    return round(profile.limit * rng.uniform(1.05, 1.4), profile.digits)
