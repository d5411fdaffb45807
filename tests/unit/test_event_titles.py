"""The item page's activity reads in an owner's words: every kind of entry the code writes has a title."""

import re
from pathlib import Path

from vocloop.inbox.words import EVENT_TITLES, event_title

WRITTEN = re.compile(r'(?:ItemEvent\([^)]*?kind=|\b_?(?:record|event)\(item, )"([a-z_]+)"', re.S)


def test_every_kind_of_activity_the_code_writes_has_words_for_an_owner():
    root = Path(__file__).resolve().parents[2] / "vocloop"
    written = {kind for path in root.rglob("*.py") for kind in WRITTEN.findall(path.read_text())}
    assert {"created", "closed", "message_sent", "sla_breached", "customer_replied"} <= written  # the scan works
    assert written - EVENT_TITLES.keys() == set()


def test_a_closing_message_delivered_after_the_relay_gave_up_and_an_unknown_kind_read_well():
    assert event_title("message_sent", {}) == "closing message sent"
    assert event_title("message_sent", {"after_all": True}) == "delivered after all"
    assert event_title("sla_breached", None) == "closing message missed its deadline"
    assert event_title("some_new_kind", None) == "some new kind"
