"""Definitions the numbers depend on (DESIGN.md §2), in one place."""
from __future__ import annotations

import re
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
SPECIALTY_MAP_PATH = REFERENCE_DIR / "procedure_specialties.csv"

HOSPICE_SPECIALTY = "Hospice"
# Encounter codes that are hospice admissions: the encounter and every procedure in it are hospice data.
HOSPICE_ADMISSION_CODES = frozenset({"305336008"})

NO_INSURANCE = "NO_INSURANCE"
# How a client sees groups of other payers' patients (DESIGN §3 rule 5): competitors are never named.
OTHER_INSURERS_LABEL = "Other insurers"
NO_INSURANCE_LABEL = "No insurance"

# Three-digit ZIP areas with fewer than 20,000 people (HIPAA Safe Harbor, 2000 census): published as "000".
RESTRICTED_ZIP3 = frozenset({
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878", "879", "884", "890",
    "893",
})

_SEMANTIC_TAG = re.compile(r"\s*\((procedure|regime/therapy|physical object|finding|situation|qualifier value)\)\s*$")


def display_name(description: str) -> str:
    """A description without its SNOMED semantic tag: "Renal dialysis (procedure)" -> "Renal dialysis"."""
    return _SEMANTIC_TAG.sub("", description).strip()


def canonical_name(descriptions: list[str]) -> str:
    """One name per code: the shortest description once semantic tags are dropped (the generic term), ties A-Z.

    "Depression screening (procedure)" and "Depression screening" are one name; for 5880005 the generic
    "Physical examination" wins over "Physical examination following birth".
    """
    return min((display_name(text) for text in descriptions), key=lambda text: (len(text), text))


def zip3(zip_code: str | None) -> str | None:
    if not isinstance(zip_code, str) or not zip_code.strip():
        return None
    digits = zip_code.strip().zfill(5)[:3]
    return "000" if digits in RESTRICTED_ZIP3 else digits
