"""Keyed pseudonyms for patients in client extracts (DESIGN §3 rule 2).

The key is HMAC(server secret, client name) (see `policy.client_scope`), so a patient's key is stable for one client
across downloads (the client can join its own extracts), different between clients (two clients cannot join theirs),
and not reversible without the server secret.
"""
from __future__ import annotations

import hashlib
import hmac


def patient_key(client_key: bytes, patient_id: str) -> str:
    if not client_key:
        raise ValueError("no pseudonym key: this scope may not receive patient rows")
    return hmac.new(client_key, patient_id.encode(), hashlib.sha256).hexdigest()[:20]
