"""Why the core refuses an input: a short machine token and a sentence for a person.

The core never speaks HTTP: the shell maps a reason to its transport (a status code for the
host stand, the sentence in a POS ack). Every refusal changes nothing, so each one is safe to
answer and forget.
"""

from __future__ import annotations

#: Every reason the core gives, with what it means (docs/table-rules.md lists them).
REASONS: dict[str, str] = {
    "unknown_type": "the input's type is not one the core knows",
    "missing_field": "a field the type needs is absent",
    "bad_field": "a field has the wrong type or an impossible value",
    "unknown_table": "the table is not in this site's config",
    "unknown_section": "no table of this site's config is in that section",
    "unknown_entry": "there is no such waitlist entry",
    "unknown_reservation": "there is no such reservation",
    "unknown_check": "there is no such POS check",
    "unknown_merge": "there is no such merge of guest profiles",
    "duplicate_merge": "the guests are already merged, or the merge is already undone",
    "not_linked": "the reservation is not linked to a check",
    "wrong_status": "the table or party is not in a status that allows this",
    "table_in_use": "the floor change removes a table that has guests or an open check",
    "party_too_large": "the party has more guests than the table has seats",
    "nothing_due": "a timer fired with nothing to do",
    "invalid_input": "the edge could not read the input (a POS payload it refused)",
    "not_stored": "the input could not be stored; it is kept as a dead letter",
    "store_full": "the disk is full: the input was not saved; send it again later",
}


#: Refusals of an input that was not stored through no fault of its own: send it again later.
RETRY_LATER = frozenset({"not_stored", "store_full"})


class Rejected(Exception):
    """An input the state cannot take: a `rejected` ack or a 4xx, never a crash.

    Raised only inside deciding, before anything is folded, and always caught by
    `State.process`, which turns it into a rejected `Outcome`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        if reason not in REASONS:  # pragma: no cover - a typo in the core, caught by the tests
            raise ValueError(f"unknown rejection reason {reason!r}")
        self.reason = reason
        self.error = message
