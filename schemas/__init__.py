"""One pydantic definition of each message and of the registry, used by every part."""

from schemas.alert import Alert, AlertKind, AlertStatus, Audience, Severity, Summary
from schemas.deadletter import DeadLetter
from schemas.events import Assessment, Hazard, Heartbeat, SafetyEvent
from schemas.reading import Flag, Reading, ReadingBatch, ReadingEvent, Source
from schemas.registry import (
    Domain,
    Enterprise,
    Level,
    MaintenanceWindow,
    Platform,
    Point,
    Registry,
    Zone,
)

__all__ = [
    "Alert", "AlertKind", "AlertStatus", "Assessment", "Audience", "DeadLetter", "Domain",
    "Enterprise", "Flag", "Hazard", "Heartbeat", "Level", "MaintenanceWindow", "Platform",
    "Point", "Reading", "ReadingBatch", "ReadingEvent", "Registry", "SafetyEvent", "Severity",
    "Source", "Summary", "Zone",
]
