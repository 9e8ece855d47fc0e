"""Roles and the Scope: what one viewer may see. `data_access` cannot run a query without one.

A Scope is built only by `security.policy.scope_for` from the logged-in account (never from request parameters).
It is immutable and hashable, and `cache_key` is part of every cache key, so cached answers never cross scopes.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Role(str, enum.Enum):
    CLIENT = "client"
    SENIOR = "senior_management"
    EMPLOYEE = "employee"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return {
            "client": "Client",
            "senior_management": "Senior management",
            "employee": "PAG employee",
            "admin": "Administrator",
        }[self.value]


class Audience(str, enum.Enum):
    CLIENT = "client"  # one client payer's view: pseudonymised rows of its own members, other payers aggregated
    INTERNAL = "internal"  # PAG staff: aggregates of every payer, rows only of `detail` payers
    NONE = "none"  # no patient data at all (administrators)


@dataclass(frozen=True)
class Scope:
    viewer: str
    role: Role
    audience: Audience
    # Client audience: the one payer (name as in payers.csv) whose encounters are visible.
    payer: str | None = None
    # The specialty this view is restricted to (None: every specialty the viewer may see).
    specialty: str | None = None
    # False for a member whose specialty is not Hospice: hospice rows do not exist for them.
    hospice_visible: bool = True
    # Internal audience: payers whose rows (points, patient lists) may be shown; others only as aggregates.
    detail_payers: frozenset[str] = field(default_factory=frozenset)
    aggregate_payers: frozenset[str] = field(default_factory=frozenset)
    min_cell_size: int = 11
    # Internal audience: which payers are the PAG's clients (patients "in contact with a client").
    client_payers: frozenset[str] = field(default_factory=frozenset)
    # Senior management previewing a client's pages sees exactly that client's scope, flagged for the audit log.
    preview: bool = False
    # Client audience: the key of the client's patient pseudonyms. Never printed, never part of a cache key.
    pseudonym_key: bytes = field(default=b"", repr=False, compare=False)

    def __post_init__(self):
        if self.audience is Audience.CLIENT and not self.payer:
            raise ValueError("a client scope needs its payer")

    def patient_key(self, patient_id: str) -> str:
        from security.pseudonym import patient_key

        return patient_key(self.pseudonym_key, patient_id)

    @property
    def cache_key(self) -> str:
        """Everything that changes what this scope may see, as a string (the viewer's name is deliberately not in
        it: two viewers with the same scope may share cached answers)."""
        return "|".join([
            self.audience.value,
            self.payer or "-",
            self.specialty or "*",
            "H" if self.hospice_visible else "noH",
            ",".join(sorted(self.detail_payers)),
            ",".join(sorted(self.aggregate_payers)),
            ",".join(sorted(self.client_payers)),
            str(self.min_cell_size),
        ])

    def describe(self) -> str:
        """The scope in words for the page header, e.g. "Humana · Oncology · hospice hidden"."""
        if self.audience is Audience.NONE:
            return "No patient data"
        if self.audience is Audience.INTERNAL:
            text = "PAG internal · all payers"
            if self.aggregate_payers:
                text += " · aggregates only for " + ", ".join(sorted(self.aggregate_payers))
            return text
        parts = [self.payer or "", self.specialty or "all specialties"]
        parts.append("hospice visible" if self.hospice_visible else "hospice hidden")
        if self.preview:
            parts.insert(0, "Preview as")
        return " · ".join(parts)
