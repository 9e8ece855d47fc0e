"""A small data set whose answers are stated here, written in exactly the input format.

Two clients (UnitedHealthcare, Humana), Medicare, Aetna and NO_INSURANCE; fifteen patients; seventeen encounters.
Expected figures (the tests assert these, computed by hand from the rows below):

UnitedHealthcare, whole range: members 4 (p01-p04; p05 has no encounter), encounters 5 (e01-e05; e06 is p01's
Medicare encounter and must not count), procedures 5, total procedure cost 6,600.
Procedure summary by total cost: Chemotherapy 5,000 (1 procedure, 1 patient), Colonoscopy 1,000 (1, 1),
Hospice care 400 (1, 1), Depression screening 200 (2, 1).

Humana, a member without hospice (e.g. Oncology): encounters 4 (e09 is a hospice admission), members 3 (p07's only
encounter is that admission), procedures 4 (e09's procedures and e10's hospice care are hidden), cost 11,000.
Humana with hospice visible: encounters 5, members 4, procedures 7, cost 11,900.
Humana, specialty Oncology: members 1 (p06), encounters 2, procedures 2, cost 10,000.
"""
from __future__ import annotations

from pathlib import Path

PAYERS = [
    ("pay-uhc", "UnitedHealthcare", "9800 Healthcare Lane", "Minnetonka", "MN", "55436", "1-888-545-5205"),
    ("pay-hum", "Humana", "500 West Main St", "Louisville", "KY", "40018", "1-844-330-7799"),
    ("pay-med", "Medicare", "7500 Security Blvd", "Baltimore", "MD", "21244", "1-800-633-4227"),
    ("pay-aet", "Aetna", "151 Farmington Ave", "Hartford", "CT", "6156", "1-800-872-3862"),
    ("pay-none", "NO_INSURANCE", "", "", "", "", ""),
]
ORGANIZATIONS = [("org-mgh", "MASSACHUSETTS GENERAL HOSPITAL", "55 FRUIT STREET", "BOSTON", "MA", "02114",
                  "42.362813", "-71.069187")]

# id, birthdate, first, last, city, county, zip, lat, lon
PATIENTS = [
    ("p01", "1950-03-19", "Ann501", "Alpha11", "Boston", "Suffolk County", "02114", "42.3601", "-71.0589"),
    ("p02", "1960-07-01", "Bob502", "Beta12", "Boston", "Suffolk County", "02115", "42.3611", "-71.0599"),
    ("p03", "1930-01-02", "Cid503", "Gamma13", "Quincy", "Norfolk County", "02169", "42.2529", "-71.0023"),
    ("p04", "1985-11-11", "Dee504", "Delta14", "Quincy", "Norfolk County", "", "42.2539", "-71.0033"),
    ("p05", "1990-05-05", "Eve505", "Epsilon15", "Cambridge", "Middlesex County", "02139", "42.3736", "-71.1097"),
    ("p06", "1955-02-02", "Fay506", "Zeta16", "Boston", "Suffolk County", "02114", "42.3605", "-71.0592"),
    ("p07", "1940-04-04", "Gus507", "Eta17", "Boston", "Suffolk County", "02116", "42.3500", "-71.0700"),
    ("p08", "1945-08-08", "Hal508", "Theta18", "Quincy", "Norfolk County", "02169", "42.2540", "-71.0040"),
    ("p09", "1970-09-09", "Ivy509", "Iota19", "Cambridge", "Middlesex County", "02139", "42.3740", "-71.1100"),
    ("p10", "1948-10-10", "Jon510", "Kappa20", "Boston", "Suffolk County", "02114", "42.3603", "-71.0591"),
    ("p11", "1975-12-12", "Kim511", "Lambda21", "Boston", "Suffolk County", "02114", "42.3604", "-71.0590"),
    ("p12", "1935-06-06", "Lou512", "Mu22", "Quincy", "Norfolk County", "02169", "42.2531", "-71.0025"),
    ("p13", "1980-01-13", "Max513", "Nu23", "Boston", "Suffolk County", "02114", "42.3602", "-71.0588"),
    ("p14", "1982-02-14", "Ned514", "Xi24", "Revere", "Suffolk County", "02151", "42.4084", "-71.0120"),
    ("p15", "1965-03-15", "Oli515", "Omicron25", "Boston", "Suffolk County", "02115", "42.3612", "-71.0600"),
]

HOSPICE_ADMISSION = ("305336008", "Admission to hospice (procedure)")
ENCOUNTER_CODE = ("185347001", "Encounter for problem (procedure)")

# id, patient, payer, date, class, code/description, claim cost, payer coverage
ENCOUNTERS = [
    ("e01", "p01", "pay-uhc", "2020-01-10", "ambulatory", ENCOUNTER_CODE, "1250.00", "1000.00"),
    ("e02", "p01", "pay-uhc", "2020-03-05", "ambulatory", ENCOUNTER_CODE, "150.00", "100.00"),
    ("e03", "p02", "pay-uhc", "2020-01-20", "outpatient", ENCOUNTER_CODE, "5100.00", "4000.00"),
    ("e04", "p03", "pay-uhc", "2021-06-01", "inpatient", ENCOUNTER_CODE, "500.00", "400.00"),
    ("e05", "p04", "pay-uhc", "2021-07-01", "wellness", ENCOUNTER_CODE, "80.00", "80.00"),
    ("e06", "p01", "pay-med", "2020-02-01", "ambulatory", ENCOUNTER_CODE, "1100.00", "900.00"),
    ("e07", "p06", "pay-hum", "2020-01-15", "ambulatory", ENCOUNTER_CODE, "5100.00", "5000.00"),
    ("e08", "p06", "pay-hum", "2020-02-15", "ambulatory", ENCOUNTER_CODE, "5200.00", "5000.00"),
    ("e09", "p07", "pay-hum", "2020-05-01", "inpatient", HOSPICE_ADMISSION, "600.00", "500.00"),
    ("e10", "p08", "pay-hum", "2021-01-10", "outpatient", ENCOUNTER_CODE, "450.00", "400.00"),
    ("e11", "p09", "pay-hum", "2021-02-10", "ambulatory", ENCOUNTER_CODE, "950.00", "900.00"),
    ("e12", "p10", "pay-med", "2020-01-05", "ambulatory", ENCOUNTER_CODE, "1050.00", "1000.00"),
    ("e13", "p11", "pay-med", "2020-04-05", "ambulatory", ENCOUNTER_CODE, "150.00", "100.00"),
    ("e14", "p12", "pay-med", "2021-01-05", "inpatient", ENCOUNTER_CODE, "450.00", "400.00"),
    ("e15", "p13", "pay-none", "2020-06-01", "emergency", ENCOUNTER_CODE, "1050.00", "0"),
    ("e16", "p14", "pay-none", "2020-07-01", "urgentcare", ENCOUNTER_CODE, "150.00", "0"),
    ("e17", "p15", "pay-aet", "2020-08-01", "ambulatory", ENCOUNTER_CODE, "5100.00", "5000.00"),
]

COLONOSCOPY = ("73761001", "Colonoscopy", "1000")
DEPRESSION = ("171207006", "Depression screening", "100")
DEPRESSION_TAGGED = ("171207006", "Depression screening (procedure)", "100")
HOSPICE = ("385763009", "Hospice care (regime/therapy)", "400")
CHEMO = ("367336001", "Chemotherapy (procedure)", "5000")
DIALYSIS = ("265764009", "Renal dialysis (procedure)", "900")

# encounter, procedure
PROCEDURES = [
    ("e01", COLONOSCOPY), ("e01", DEPRESSION), ("e02", DEPRESSION_TAGGED), ("e03", CHEMO), ("e04", HOSPICE),
    ("e06", COLONOSCOPY),
    ("e07", CHEMO), ("e08", CHEMO), ("e08", DEPRESSION), ("e09", HOSPICE), ("e09", DEPRESSION), ("e10", HOSPICE),
    ("e11", DIALYSIS),
    ("e12", COLONOSCOPY), ("e13", DEPRESSION), ("e14", HOSPICE), ("e15", COLONOSCOPY), ("e16", DEPRESSION),
    ("e17", CHEMO),
]

HEADERS = {
    "payers": "Id,NAME,ADDRESS,CITY,STATE_HEADQUARTERED,ZIP,PHONE",
    "organizations": "Id,NAME,ADDRESS,CITY,STATE,ZIP,LAT,LON",
    "patients": "Id,BIRTHDATE,DEATHDATE,PREFIX,FIRST,LAST,SUFFIX,MAIDEN,MARITAL,RACE,ETHNICITY,GENDER,BIRTHPLACE,"
                "ADDRESS,CITY,STATE,COUNTY,ZIP,LAT,LON",
    "encounters": "Id,START,STOP,PATIENT,ORGANIZATION,PAYER,ENCOUNTERCLASS,CODE,DESCRIPTION,BASE_ENCOUNTER_COST,"
                  "TOTAL_CLAIM_COST,PAYER_COVERAGE,REASONCODE,REASONDESCRIPTION",
    "procedures": "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,REASONCODE,REASONDESCRIPTION",
}


def rows() -> dict[str, list[list[str]]]:
    patient_of = {encounter[0]: encounter[1] for encounter in ENCOUNTERS}
    date_of = {encounter[0]: encounter[3] for encounter in ENCOUNTERS}
    return {
        "payers": [list(row) for row in PAYERS],
        "organizations": [list(row) for row in ORGANIZATIONS],
        "patients": [
            [pid, born, "", "Mx.", first, last, "", "", "S", "white", "nonhispanic", "F" if i % 2 else "M",
             "Boston  Massachusetts  US", f"{10 + i} Example Street", city, "Massachusetts", county, zip_code, lat, lon]
            for i, (pid, born, first, last, city, county, zip_code, lat, lon) in enumerate(PATIENTS)
        ],
        "encounters": [
            [eid, f"{day}T09:00:00Z", f"{day}T10:00:00Z", patient, "org-mgh", payer, klass, code[0], code[1],
             "85.55", claim, coverage, "", ""]
            for eid, patient, payer, day, klass, code, claim, coverage in ENCOUNTERS
        ],
        "procedures": [
            [f"{date_of[eid]}T09:{10 + i:02d}:00Z", f"{date_of[eid]}T09:{11 + i:02d}:00Z", patient_of[eid], eid,
             code, description, cost, "", ""]
            for i, (eid, (code, description, cost)) in enumerate(PROCEDURES)
        ],
    }


def write(directory: Path, overrides: dict[str, list[list[str]]] | None = None) -> Path:
    """Write the five CSVs (UTF-8 with BOM, CRLF, as the real files) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    data = rows()
    data.update(overrides or {})
    for name, header in HEADERS.items():
        lines = [header] + [",".join(row) for row in data[name]]
        (directory / f"{name}.csv").write_bytes(("\ufeff" + "\r\n".join(lines)).encode("utf-8"))
    return directory
