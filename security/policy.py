"""The access policy: one module decides which role opens which page, calls which callback, downloads which
extract, and which Scope a request runs with. Everything else asks here (like Superset's security manager).

Deny by default: a page, callback or extract that is not registered here is refused for everyone.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from werkzeug.exceptions import BadRequest, Forbidden

from data_access.definitions import HOSPICE_SPECIALTY
from security.scope import Audience, Role, Scope

ALL_ROLES = frozenset(Role)
HOSPICE = HOSPICE_SPECIALTY


@dataclass(frozen=True)
class PageRule:
    key: str  # also the prefix of every component id of the page ("client-kpis")
    path: str
    title: str
    roles: frozenset[Role]
    audience: Audience | None  # the kind of scope the page's callbacks run with
    description: str = ""


PAGES: tuple[PageRule, ...] = (
    PageRule("home", "/", "Home", ALL_ROLES, None, "Your reports at a glance"),
    PageRule("client", "/client", "Procedures & costs", frozenset({Role.CLIENT, Role.SENIOR}), Audience.CLIENT,
             "Procedures of a client's members by total cost and frequency, and patients elsewhere on the same "
             "procedures"),
    PageRule("team", "/team", "Hospital & team", frozenset({Role.CLIENT, Role.SENIOR}), Audience.CLIENT,
             "The hospital treating a client's members and the members helped per specialty and month"),
    PageRule("management", "/management", "Management analytics", frozenset({Role.SENIOR}), Audience.INTERNAL,
             "Patients per area, area vs procedures, non-client patients near client patients"),
    PageRule("extracts", "/extracts", "Extracts", frozenset({Role.EMPLOYEE, Role.SENIOR}), Audience.INTERNAL,
             "The data behind the management reports, as CSV and Excel"),
    PageRule("audit", "/admin/audit", "Audit log", frozenset({Role.ADMIN, Role.SENIOR}), Audience.NONE,
             "Logins, downloads and refused requests"),
)
PAGES_BY_KEY = {page.key: page for page in PAGES}
PAGES_BY_PATH = {page.path: page for page in PAGES}
# Callbacks of the shell (navbar, data stamp) may run for any logged-in user.
SHELL_PREFIX = "shell"


@dataclass(frozen=True)
class ExtractRule:
    name: str
    roles: frozenset[Role]
    audience: Audience
    title: str
    description: str
    parameters: tuple[str, ...]


_CLIENT_ROLES = frozenset({Role.CLIENT, Role.SENIOR})
_INTERNAL_ROLES = frozenset({Role.EMPLOYEE, Role.SENIOR})
EXTRACTS: tuple[ExtractRule, ...] = (
    ExtractRule("procedure-summary", _CLIENT_ROLES, Audience.CLIENT, "Procedures by total cost",
                "One row per procedure code: how often it was performed, total and average cost, distinct patients.",
                ("start", "end", "specialty", "client")),
    ExtractRule("procedure-rows", _CLIENT_ROLES, Audience.CLIENT, "Procedure rows",
                "Every procedure behind the charts, one row each, with a pseudonymous patient key.",
                ("start", "end", "specialty", "client")),
    ExtractRule("shared-procedures", _CLIENT_ROLES, Audience.CLIENT, "Patients on the same procedures",
                "For the client's top N procedures: patients who had each, by group; small counts suppressed.",
                ("start", "end", "specialty", "client", "top")),
    ExtractRule("shared-procedures-distribution", _CLIENT_ROLES, Audience.CLIENT,
                "Patients by number of top procedures",
                "How many patients had 1, 2, ... of the client's top N procedures, by group; small counts suppressed.",
                ("start", "end", "specialty", "client", "top")),
    ExtractRule("members", _CLIENT_ROLES, Audience.CLIENT, "Members (de-identified)",
                "One row per member: pseudonymous key, birth year, gender, race, ethnicity, county, ZIP3, "
                "encounters, procedures, claim cost and payer coverage.",
                ("start", "end", "specialty", "client")),
    ExtractRule("patients-helped", _CLIENT_ROLES, Audience.CLIENT, "Members helped per month",
                "Per month: members helped, encounters, procedures and cost for the selected specialty.",
                ("start", "end", "specialty", "client")),
    ExtractRule("patients-by-area", _INTERNAL_ROLES, Audience.INTERNAL, "Clients' patients by area",
                "Patients reached by the clients' encounters per county, city or ZIP; small counts suppressed.",
                ("start", "end", "area_level")),
    ExtractRule("area-procedures", _INTERNAL_ROLES, Audience.INTERNAL, "Area of residence vs procedures",
                "Contingency table of areas by procedures with expected counts and standardized residuals.",
                ("start", "end", "area_level")),
    ExtractRule("proximity-clusters", _INTERNAL_ROLES, Audience.INTERNAL, "Non-client clusters near client patients",
                "Groups of non-client patients living within the radius of a client patient.",
                ("radius_m", "min_cluster_size")),
)
EXTRACTS_BY_NAME = {rule.name: rule for rule in EXTRACTS}


class AccessDenied(Forbidden):
    """Outside the viewer's scope. Raised only through `deny`, which writes the audit log first."""


def _settings():
    return current_app.extensions["pag"].settings


def deny(reason: str, **params) -> AccessDenied:
    """Audit-log a refusal and return the exception to raise (403)."""
    from security import audit

    audit.record("denied", status=403, params=params or None, detail=reason)
    return AccessDenied(reason)


# ---------------------------------------------------------------- pages and callbacks


def may_open(role: Role, page_key: str) -> bool:
    page = PAGES_BY_KEY.get(page_key)
    return page is not None and role in page.roles


def pages_for(role: Role) -> list[PageRule]:
    return [page for page in PAGES if role in page.roles]


def landing_page(role: Role) -> PageRule:
    """Where a role lands after login: its main report (home only when it has several)."""
    first = {Role.CLIENT: "client", Role.SENIOR: "management", Role.EMPLOYEE: "extracts", Role.ADMIN: "audit"}
    return PAGES_BY_KEY[first[role]]


def page_of_component(component_id) -> str | None:
    """The page a component id belongs to: its prefix before the first '-' (dict ids: their 'type')."""
    if isinstance(component_id, dict):
        component_id = component_id.get("type", "")
    if not isinstance(component_id, str) or "-" not in component_id:
        return None
    return component_id.split("-", 1)[0]


def may_call(role: Role, component_ids: Iterable) -> bool:
    """A callback may run if every output it writes belongs to the shell or to a page the role may open."""
    ids = list(component_ids)
    if not ids:
        return False
    for component_id in ids:
        page = page_of_component(component_id)
        if page == SHELL_PREFIX:
            continue
        if page is None or not may_open(role, page):
            return False
    return True


def may_download(role: Role, extract: str) -> bool:
    rule = EXTRACTS_BY_NAME.get(extract)
    return rule is not None and role in rule.roles


def extracts_for(role: Role) -> list[ExtractRule]:
    return [rule for rule in EXTRACTS if role in rule.roles]


# ---------------------------------------------------------------- scopes


def client_payers() -> tuple[str, ...]:
    return _settings().client_payers


def _pseudonym_key(client: str) -> bytes:
    secret = _settings().secret_key.encode()
    return hmac.new(secret, f"patient-key:{client}".encode(), hashlib.sha256).digest()


def client_scope(account, *, client: str | None = None, specialty: str | None = None,
                 known_specialties: Iterable[str] | None = None) -> Scope:
    """The scope of a client view. `client` and `specialty` come from the request and are checked, never trusted.

    - a client account sees its own payer only; asking for another is refused (403, audit-logged);
    - senior management may preview any configured client, exactly as that client's account would see it;
    - a viewer whose specialty is not Hospice never gets hospice data; asking for the Hospice specialty is refused.
    """
    settings = _settings()
    role = account.role
    if role is Role.CLIENT:
        own = account.payer
        if client not in (None, "", own):
            raise deny("client outside the viewer's scope", client=client)
        payer, account_specialty, preview = own, account.specialty, False
    elif role is Role.SENIOR:
        payer = client or settings.client_payers[0]
        if payer not in settings.client_payers:
            raise deny("not a client payer", client=client)
        # Previewing "as a member of specialty X": the hospice rule is that member's.
        account_specialty, preview = specialty, True
    else:
        raise deny("client views are for client accounts and senior management", page="client")
    if payer not in settings.client_payers:
        raise deny("the account's payer is not a configured client", client=payer)
    hospice_visible = account_specialty in (None, HOSPICE)
    if specialty in ("", "all", "*"):
        specialty = None
    if specialty is not None:
        if known_specialties is not None and specialty not in set(known_specialties):
            raise BadRequest(f"unknown specialty {specialty!r}")
        if specialty == HOSPICE and not hospice_visible:
            # Worded without naming the specialty: the refusal itself must not describe what is hidden.
            raise deny("this specialty is outside your access", specialty=specialty)
    return Scope(
        viewer=account.username, role=role, audience=Audience.CLIENT, payer=payer, specialty=specialty,
        hospice_visible=hospice_visible, min_cell_size=settings.min_cell_size, preview=preview,
        pseudonym_key=_pseudonym_key(payer),
    )


def internal_scope(account, payer_names: Iterable[str]) -> Scope:
    """PAG staff: aggregates of every payer; rows only of payers whose internal visibility is `detail`."""
    if account.role not in (Role.SENIOR, Role.EMPLOYEE):
        raise deny("internal reports are for PAG staff", page="internal")
    settings = _settings()
    names = set(payer_names)
    aggregate = frozenset(name for name in names if settings.visibility_of(name) == "aggregate")
    return Scope(
        viewer=account.username, role=account.role, audience=Audience.INTERNAL, hospice_visible=True,
        detail_payers=frozenset(names - aggregate), aggregate_payers=aggregate,
        min_cell_size=settings.min_cell_size, client_payers=frozenset(settings.client_payers),
    )


def no_data_scope(account) -> Scope:
    return Scope(viewer=account.username, role=account.role, audience=Audience.NONE)


def require_page(account, page_key: str) -> PageRule:
    if not may_open(account.role, page_key):
        raise deny("page outside the viewer's role", page=page_key)
    return PAGES_BY_KEY[page_key]
