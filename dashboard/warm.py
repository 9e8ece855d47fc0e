"""Warm the pages' default views right after a load, so that the first visitors do not pay for the heaviest
queries: the answers go to `mart_results`, which every worker reads on a cache miss.

The scopes are built by the policy exactly as for a real viewer (synthetic accounts of each kind), so the stored
answers sit under the same cache keys the pages ask for; nothing crosses scopes.
"""
from __future__ import annotations

import time

from data_access import catalog, client_reports, management
from data_access.rls import Window
from security import policy
from security.auth import Account
from security.scope import Role


def default_views(state):
    """(label, callable) pairs: every query the landing view of each page runs with its default filters."""
    wh = state.warehouse
    version = wh.version()
    whole = Window(version.min_date, version.max_date)
    from dashboard.viewer import last_twelve_months_of

    year = Window(*last_twelve_months_of(version.min_date, version.max_date))
    specialties = catalog.all_specialties(wh)
    views = []
    for payer in state.settings.client_payers:
        # a client account without specialty (hospice visible) and members of each specialty
        members = [Account("warm", Role.CLIENT, payer, None)]
        members += [Account("warm", Role.CLIENT, payer, specialty) for specialty in specialties]
        for account in members:
            for specialty in {None, account.specialty}:
                scope = policy.client_scope(account, specialty=specialty)
                if specialty is None:  # /client opens on all specialties, whole range
                    views += [
                        (f"client {payer} {account.specialty}", lambda s=scope: (
                            client_reports.together(wh, s, whole, client_reports.kpis,
                                                    client_reports.procedure_summary),
                            client_reports.shared_procedures(wh, s, whole, top=10))),
                    ]
                if specialty == account.specialty:  # /team opens on the member's own specialty, last 12 months
                    views.append((f"team {payer} {specialty}", lambda s=scope: (
                        client_reports.together(wh, s, year, client_reports.kpis, client_reports.hospitals,
                                                client_reports.helped_by_month, client_reports.by_encounter_class,
                                                client_reports.procedure_summary))))
    internal = policy.internal_scope(Account("warm", Role.SENIOR, None, None), catalog.payer_keys(wh))
    views.append(("management", lambda: (
        management.patients_by_area(wh, internal, whole, area_level="city"),
        management.area_centres(wh, internal, area_level="city"),
        management.detail_client_points(wh, internal, whole),
        management.area_procedures(wh, internal, whole, area_level="city"),
        management.proximity(wh, internal, radius_m=500, min_cluster_size=5),
        management.client_hexes(wh, internal), management.detail_client_homes(wh, internal))))
    return views


def warm(state, progress=None) -> tuple[int, float]:
    """Compute and store every default view; returns (views, seconds)."""
    began = time.perf_counter()
    views = default_views(state)
    wh = state.warehouse
    wh.persist_results = True
    try:
        for label, compute in views:
            if progress:
                progress(label)
            compute()
    finally:
        wh.persist_results = False
    return len(views), time.perf_counter() - began
