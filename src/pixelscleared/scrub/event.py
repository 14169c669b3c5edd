"""One captured event through the scrubber: every string of it that can be stored or leave.

Never raises. A failure is a value (`problem`), and the event it returns is then stripped to
its clean name and ids, with no page and no properties: whatever the next stages do with it,
nothing unscrubbed is left to leak (fail closed by construction).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace

from pixelscleared.event import CapturedEvent
from pixelscleared.scrub.engine import Removed, Scrubber, ScrubError
from pixelscleared.scrub.regions import hint_regions

# What an event name that held personal data is stored as: a name has no stand-in, so the
# event is not sent, but its row in the events log needs some name.
REDACTED_NAME = "Redacted"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
NAME_PROBLEM = "event name holds personal data"


@dataclass(frozen=True, slots=True)
class ScrubbedEvent:
    event: CapturedEvent
    removed: list[Removed]
    problem: str = ""  # why the event cannot be sent ("" when it can)

    @property
    def ok(self) -> bool:
        return not self.problem


def scrub_event(scrubber: Scrubber, event: CapturedEvent) -> ScrubbedEvent:
    """Ids first (they are stored, logged and shown even when nothing is sent), then the rest;
    national phone formats of the countries the event points at are recognised too."""
    try:
        scrubber = scrubber.with_regions(hint_regions(event.url, event.properties))
    except Exception:  # noqa: BLE001 — a hint is optional; the configured regions still apply
        pass
    event, removed, problem = _scrub_ids(scrubber, event)
    if not problem:
        try:
            clean, found = _scrub_content(scrubber, event)
            return ScrubbedEvent(clean, removed + found)
        except ScrubError as e:
            problem = str(e)
    return ScrubbedEvent(replace(event, url="", referrer="", properties={}), removed, problem)


def scrub_ids_only(scrubber: Scrubber, event: CapturedEvent) -> ScrubbedEvent:
    """For an event no pixel takes: only what its events-log row stores (name and ids) is
    scrubbed; page and properties are left out, since nothing of them is stored or sent."""
    event, removed, problem = _scrub_ids(scrubber, event)
    return ScrubbedEvent(replace(event, url="", referrer="", properties={}), removed, problem)


def _scrub_ids(scrubber: Scrubber, event: CapturedEvent) -> tuple[CapturedEvent, list[Removed], str]:
    """The event's name and ids through the scrubber.

    A page may use an email as its event id: such an id is replaced by a fresh one (the
    browser copy then no longer deduplicates, which is the lesser harm); a tainted ttclid or
    test code is left out; a name holding personal data fails the event (it has no stand-in).
    """
    removed: list[Removed] = []
    changes: dict[str, str] = {}
    problem = ""
    for attr in ("name", "event_id", "ttclid", "test_event_code"):
        value: str = getattr(event, attr)
        if not value or (attr == "event_id" and _UUID.fullmatch(value)):
            continue  # a UUID holds nothing personal (most generated ids)
        try:
            res = scrubber.scrub_text(value, attr)
            dirty, found = res.value != value, res.removed
        except ScrubError:
            dirty, found = True, [Removed(attr, "unscrubbable")]
        if not dirty:
            continue
        if attr == "name":
            problem = NAME_PROBLEM
            changes["name"] = REDACTED_NAME
            continue
        removed.extend(found)
        changes[attr] = str(uuid.uuid4()) if attr == "event_id" else ""
    return (_with(event, changes) if changes else event), removed, problem


def _with(event: CapturedEvent, changes: dict[str, str]) -> CapturedEvent:
    return replace(event, name=changes.get("name", event.name), event_id=changes.get("event_id", event.event_id),
                   ttclid=changes.get("ttclid", event.ttclid),
                   test_event_code=changes.get("test_event_code", event.test_event_code))


def _scrub_content(scrubber: Scrubber, event: CapturedEvent) -> tuple[CapturedEvent, list[Removed]]:
    """Page URL, referrer and every property; raises ScrubError past the scrubber's limits."""
    url = scrubber.scrub_url(event.url, "page.url") if event.url else None
    ref = scrubber.scrub_url(event.referrer, "page.referrer") if event.referrer else None
    props = scrubber.scrub_value(event.properties, "properties")
    removed = [r for part in (url, ref, props) if part is not None for r in part.removed]
    clean = replace(event, url=url.value if url else "", referrer=ref.value if ref else "",
                    properties=props.value)
    return clean, removed
