"""What a response may contain for the account that asked for it (DESIGN §3), checked on every response of the run.

The forbidden terms come from the real input, read once: payer names and ids from payers.csv, patient ids and
names from patients.csv, and the hospice codes and descriptions (the issue's three codes plus every code the
product's specialty mapping file assigns to Hospice, e.g. "Patient discharge"). A response is first made into
canonical text, so that nothing hides behind an encoding:

- JSON (Dash callbacks, layouts, API answers) is parsed and dumped again without ASCII escapes, after decoding
  Plotly's base64 typed arrays (`{"dtype": "i4", "bdata": ...}`): a procedure code sent as a number in a figure's
  `customdata` would otherwise be invisible to a text search;
- CSV and HTML are read as UTF-8.

Rules per account kind (a violation is a *leak*; the run fails on any):

- clients: no other payer's name or id (a client sees only "Other insurers" / "No insurance", and the extracts'
  group codes `other_insurers` / `no_insurance`); no patient id, first, last or maiden name;
- a client member whose specialty is not Hospice (Humana Oncology): additionally no hospice code, no hospice-only
  procedure description, and no "hospice" at all except in the phrase "hospice hidden" (their scope's own label);
- employee: no patient names or ids, and no figure at all (no `figure` property, no Graph component, no Plotly
  `{data, layout}` object);
- admin: no patient names or ids, no figure;
- senior management: no patient names or ids (nothing in the design sends names to anyone).

Matching is token based (a few hundred ms for a multi-megabyte extract, instead of one regex of 3,000
alternatives): the text is split on whitespace and punctuation and each token is looked up in a set; names of
several words are indexed by their last word (Synthea's names end in digits, e.g. "María Elena653") and then
confirmed by a substring test.
"""
from __future__ import annotations

import base64
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.bench.env import PROJECT_ROOT

HOSPICE_CODES = ("385763009", "58000006", "305336008")  # the issue's: hospice care, patient discharge, admission
HOSPICE_SPECIALTY = "Hospice"
SPECIALTY_FILE = PROJECT_ROOT / "data_access" / "reference" / "procedure_specialties.csv"
ALLOWED_HOSPICE_PHRASE = re.compile(r"hospice hidden", re.IGNORECASE)
HOSPICE_WORD = re.compile(r"hospice", re.IGNORECASE)
# Split on whitespace and on the punctuation of JSON, CSV, HTML and URLs; keeps '-' (UUIDs) and accented letters.
TOKEN_SPLIT = re.compile(r"[\s\"',;:<>{}\[\]()|=&?/\\.`]+")
CONTEXT = 90


@dataclass(frozen=True)
class Kind:
    """What kind of viewer an account is, for the rules above."""

    role: str  # client, senior_management, employee, admin
    payer: str | None = None
    specialty: str | None = None

    @property
    def hospice_hidden(self) -> bool:
        return self.role == "client" and self.specialty not in (None, HOSPICE_SPECIALTY)


@dataclass
class Finding:
    rule: str
    match: str
    context: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "match": self.match, "context": self.context}


def _read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass
class Forbidden:
    """The terms loaded once from the input."""

    payer_names: dict[str, str]  # payer name -> payer id
    patient_ids: frozenset[str]
    name_anchors: dict[str, frozenset[str]]  # last word of a name -> the full names ending with it
    hospice_codes: frozenset[str]
    hospice_descriptions: tuple[str, ...]
    payer_patterns: dict[str, re.Pattern] = field(default_factory=dict)

    @classmethod
    def load(cls, input_dir: Path, specialty_file: Path = SPECIALTY_FILE) -> Forbidden:
        payers = {row["NAME"].strip(): row["Id"].strip() for row in _read_csv(input_dir / "payers.csv")}
        patients = _read_csv(input_dir / "patients.csv")
        ids = frozenset(row["Id"].strip() for row in patients)
        anchors: dict[str, set[str]] = {}
        for row in patients:
            for column in ("FIRST", "LAST", "MAIDEN"):
                name = (row.get(column) or "").strip()
                if len(name) >= 3:
                    anchors.setdefault(name.split()[-1], set()).add(name)
        codes, descriptions = set(HOSPICE_CODES), set()
        if specialty_file.exists():
            for row in _read_csv(specialty_file):
                if (row.get("specialty") or "").strip() == HOSPICE_SPECIALTY:
                    codes.add(row["code"].strip())
                    description = (row.get("description") or "").strip()
                    # "Patient discharge (procedure)" -> "Patient discharge": the name a chart would show
                    descriptions.add(re.sub(r"\s*\([^)]*\)\s*$", "", description))
        forbidden = cls(payers, ids, {key: frozenset(value) for key, value in anchors.items()}, frozenset(codes),
                        tuple(sorted(d for d in descriptions if d and "hospice" not in d.lower())))
        # Names are matched in any case ("HUMANA"), except code-like ones: NO_INSURANCE is the payer's raw name,
        # while "no_insurance" is the design's own patient_group value in the shared-procedures extracts.
        forbidden.payer_patterns = {
            name: re.compile(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])",
                             0 if name.isupper() else re.IGNORECASE)
            for name in payers
        }
        return forbidden


# ---------------------------------------------------------------- canonical text


def _decode_typed_arrays(node):
    """Plotly's `{"dtype", "bdata"[, "shape"]}` arrays as plain lists, everywhere in a JSON document."""
    if isinstance(node, dict):
        if "bdata" in node and "dtype" in node and isinstance(node["bdata"], str):
            try:
                array = np.frombuffer(base64.b64decode(node["bdata"]), dtype=np.dtype(node["dtype"]))
                return array.tolist()
            except (ValueError, TypeError):
                return node
        return {key: _decode_typed_arrays(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_decode_typed_arrays(item) for item in node]
    return node


def canonical(body: bytes, content_type: str) -> tuple[str, object | None]:
    """(text to search, parsed JSON or None)."""
    if "json" in content_type:
        try:
            data = _decode_typed_arrays(json.loads(body))
        except ValueError:
            return body.decode("utf-8", "replace"), None
        return json.dumps(data, ensure_ascii=False), data
    return body.decode("utf-8", "replace"), None


def _context(text: str, start: int, end: int) -> str:
    return text[max(0, start - CONTEXT):end + CONTEXT].replace("\n", "\\n")


# ---------------------------------------------------------------- figures


def _figure_paths(node, path="$", found=None, limit=3) -> list[str]:
    """JSON paths of anything that is a chart: a `figure` property, a Graph component, a Plotly {data, layout}."""
    found = [] if found is None else found
    if len(found) >= limit:
        return found
    if isinstance(node, dict):
        if node.get("type") == "Graph" or ("data" in node and "layout" in node and isinstance(node["data"], list)):
            found.append(path)
            return found
        for key, value in node.items():
            if key == "figure" and value:
                found.append(f"{path}.figure")
                continue
            _figure_paths(value, f"{path}.{key}", found, limit)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _figure_paths(item, f"{path}[{index}]", found, limit)
    return found


# ---------------------------------------------------------------- the checker


class Checker:
    def __init__(self, forbidden: Forbidden):
        self.forbidden = forbidden

    def check(self, kind: Kind, body: bytes, content_type: str) -> tuple[list[Finding], set[str]]:
        """(every rule `kind` breaks in this response, the canaries it carries).

        Canaries are the same rules matching where the viewer may see the data (hospice terms for a viewer with
        hospice access, payer names for PAG staff): counted per run, they show that the checks look at real
        content and would fire, rather than passing because they never see anything."""
        if not body:
            return [], set()
        text, data = canonical(body, content_type)
        findings: list[Finding] = []
        canaries: set[str] = set()
        findings += self._patients(text)
        if kind.role == "client":
            findings += self._payers(text, own=kind.payer)
        elif kind.role == "senior_management" and self._payers(text, own=None):
            canaries.add("payer names (senior management)")
        if kind.hospice_hidden:
            findings += self._hospice(text)
        elif kind.role in ("client", "senior_management") and self._hospice(text):
            canaries.add(f"hospice terms ({kind.payer or kind.role}{'/' + kind.specialty if kind.specialty else ''})")
        if kind.role in ("employee", "admin") and data is not None:
            findings += [Finding("figure sent to a role without visualisations", path, path[:200])
                         for path in _figure_paths(data)]
        elif data is not None and kind.role in ("client", "senior_management") and _figure_paths(data, limit=1):
            canaries.add(f"figures ({kind.role})")
        return findings, canaries

    def _patients(self, text: str) -> list[Finding]:
        forbidden, findings = self.forbidden, []
        tokens = set(TOKEN_SPLIT.split(text))
        for token in tokens & forbidden.patient_ids:
            start = text.find(token)
            findings.append(Finding("patient id", token, _context(text, start, start + len(token))))
        for token in tokens & forbidden.name_anchors.keys():
            for name in forbidden.name_anchors[token]:
                start = text.find(name)
                if start >= 0:
                    findings.append(Finding("patient name", name, _context(text, start, start + len(name))))
        return findings[:5]

    def _payers(self, text: str, own: str | None) -> list[Finding]:
        findings = []
        for name, pattern in self.forbidden.payer_patterns.items():
            if name == own:
                continue
            match = pattern.search(text)
            if match:
                findings.append(Finding("another payer named to a client", match.group(0),
                                        _context(text, match.start(), match.end())))
            payer_id = self.forbidden.payer_names[name]
            if payer_id and (start := text.find(payer_id)) >= 0:
                findings.append(Finding("another payer's id sent to a client", payer_id,
                                        _context(text, start, start + len(payer_id))))
        return findings

    def _hospice(self, text: str) -> list[Finding]:
        findings = []
        for code in sorted(self.forbidden.hospice_codes):
            match = re.search(r"(?<!\d)" + code + r"(?!\d)", text)
            if match:
                findings.append(Finding("hospice code sent to a member without hospice access", code,
                                        _context(text, match.start(), match.end())))
        for description in self.forbidden.hospice_descriptions:
            start = text.lower().find(description.lower())
            if start >= 0:
                findings.append(Finding("hospice procedure sent to a member without hospice access", description,
                                        _context(text, start, start + len(description))))
        stripped = ALLOWED_HOSPICE_PHRASE.sub(lambda m: "#" * len(m.group(0)), text)
        match = HOSPICE_WORD.search(stripped)
        if match:
            findings.append(Finding("'hospice' sent to a member without hospice access", text[match.start():
                                    match.end()], _context(text, match.start(), match.end())))
        return findings
