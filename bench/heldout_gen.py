"""Our own held-out set for the entity detectors, in the dev set's format (spans included).

Templates, genres and locales here are written apart from the dev set. They come in two pools:
pool "tune" is what detector changes were checked against while building them; pool "judge" was
only scored until a last PERSON round looked at its misses; pool "fresh" was written after all
detector changes and only scored. Faker seeds differ from the training corpus.

usage: python bench/heldout_gen.py POOL > out.jsonl      (POOL = tune | judge | fresh)
"""

from __future__ import annotations

import json
import os
import random
import sys

from faker import Faker

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL", "sv_SE", "tr_TR",
           "en_IN", "id_ID", "cs_CZ", "ro_RO", "en_IE", "fi_FI", "hu_HU", "da_DK"]
EU_ADDRESS = ["de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "en_GB", "pl_PL", "sv_SE", "da_DK", "fi_FI", "cs_CZ", "pt_PT"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
CONDITIONS = ["type 2 diabetes", "asthma", "depression", "hypothyroidism", "a torn ACL", "shingles", "atrial fibrillation",
              "Crohn's disease", "early-stage breast cancer", "chronic kidney disease", "an ear infection", "gestational diabetes",
              "ADHD", "an impacted wisdom tooth", "bronchitis", "epilepsy", "psoriasis", "gout", "a concussion", "anaemia"]
MEDS = ["metformin 500 mg", "salbutamol", "sertraline", "levothyroxine", "ibuprofen 400mg", "amoxicillin", "apixaban",
        "methylphenidate", "insulin glargine", "prednisolone", "allopurinol", "lamotrigine", "adalimumab", "ferrous sulfate"]


def _dob(rng: random.Random) -> str:
    y, m, d = rng.randint(1940, 2021), rng.randint(1, 12), rng.randint(1, 28)
    mon = MONTHS[m - 1]
    return rng.choice([
        f"{d} {mon} {y}", f"{mon} {d}, {y}", f"{d:02d}.{m:02d}.{y}", f"{y}/{m:02d}/{d:02d}", f"{d}-{mon[:3]}-{y}",
        f"the {d}{'th' if 4 <= d <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(d % 10, 'th')} of {mon} {y}", f"{mon[:3]}. {d} {y}",
        f"{d}/{m}/{y}", f"{y}-{m:02d}-{d:02d}",
    ])


def _mrn(rng: random.Random) -> str:
    return rng.choice([
        f"{rng.randint(10**6, 10**8)}", f"H-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}", f"PT{rng.randint(10**5, 10**7)}",
        f"{rng.choice('ABCDEFGHJK')}{rng.choice('ABCDEFGHJK')}{rng.randint(10**5, 10**6)}", f"{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
        f"MR/{rng.randint(2015, 2025)}/{rng.randint(10000, 99999)}",
    ])


# Each template: (pool, categories, text with {SLOTS}). Slots: NAME, PHONE, ADDR, DOB, MRN, EMAIL, COND, MED.
TEMPLATES = [
    ("tune", "Hi, I'm {NAME}. Could you help me write to my insurer? You can reach me on {PHONE}."),
    ("tune", "Parcel for {NAME}, {ADDR}. Please leave it with the neighbour."),
    ("tune", "Patient {NAME} (DOB {DOB}) was seen today for {COND}; started {MED}."),
    ("tune", "Chart no. {MRN} - follow-up for {COND} in two weeks."),
    ("tune", "My son {NAME} was born {DOB} and needs a passport renewal form."),
    ("tune", "Please update the delivery address for {NAME} to {ADDR}."),
    ("tune", "Sick note: {NAME} is unable to work this week due to {COND}."),
    ("tune", "Call {NAME} back on {PHONE} about the invoice."),
    ("tune", "Hospital number {MRN}, admitted overnight with {COND}."),
    ("tune", "{NAME} takes {MED} every morning - can she drink alcohol with it?"),
    ("tune", "Registration form\nName: {NAME}\nDate of birth: {DOB}\nAddress: {ADDR}\nTelephone: {PHONE}"),
    ("judge", "Write a reference letter for {NAME}; she lives at {ADDR} and her mobile is {PHONE}."),
    ("judge", "Dental note: {NAME}, {COND}, prescribed {MED}. Recall in six months."),
    ("judge", "Paediatric visit - {NAME}, born on {DOB}, presenting with {COND}."),
    ("judge", "EMR ID {MRN}: lab results pending for {NAME}."),
    ("judge", "Our new tenant {NAME} moves into {ADDR} next month; draft the welcome letter."),
    ("judge", "Can you format this contact card? {NAME} / {PHONE} / {EMAIL}"),
    ("judge", "Summarise: {NAME} was diagnosed with {COND} last spring and is on {MED}."),
    ("judge", "Medical record # {MRN} belongs to a patient with {COND}; what follow-up is standard?"),
    ("judge", "Birthday list: {NAME} - {DOB}."),
    ("judge", "Send the signed lease to {NAME} at {ADDR}, or phone {PHONE} if anything is unclear."),
    ("judge", "Patient identifier {MRN}; allergies: penicillin; meds: {MED}."),
    ("judge", "{NAME} (d.o.b. {DOB}) needs a referral to cardiology."),
    ("judge", "Please ring {PHONE} and ask for {NAME} regarding the claim."),
    ("fresh", "Visitor log: {NAME}, arrived 09:40, contact {PHONE}, home address {ADDR}."),
    ("fresh", "Pharmacy request - {NAME} (DOB {DOB}) asks for a repeat of {MED}."),
    ("fresh", "Case notes, record no. {MRN}: {NAME} reports worsening {COND}."),
    ("fresh", "Hello, this is {NAME}; my new address is {ADDR} and my number is {PHONE}."),
    ("fresh", "Insurance claim for {NAME}, date of birth {DOB}, treated for {COND}."),
    ("fresh", "Emergency contact: {NAME}, {PHONE}. Email {EMAIL}."),
    ("fresh", "Please courier the documents to {NAME}, {ADDR}, before Friday."),
    ("fresh", "School nurse: {NAME}, born {DOB}, has {COND} and carries {MED}."),
]
NEGATIVES = [
    ("tune", "What are the usual side effects of {MED}?"),
    ("tune", "The museum opened on 12 March 1998 and moved in 2004."),
    ("tune", "Order 4471-2290 shipped from our warehouse; tracking 1Z999AA10123456784."),
    ("tune", "How common is {COND} in adults over 60?"),
    ("judge", "Explain the difference between {COND} and a common cold."),
    ("judge", "The conference runs from 3 June 2025 to 5 June 2025 in Lisbon."),
    ("judge", "Version 10.4.1 was released on 2023-11-02; build 884512 is the latest."),
    ("judge", "Quote reference 55-1203-88: 12 chairs, 3 tables, delivery within 14 days."),
    ("judge", "Who was Marie Curie and what did she discover?"),
    ("fresh", "Is {MED} safe to take with coffee?"),
    ("fresh", "Our office moved on 1 April 2019; the old lease ran for 10 years."),
    ("fresh", "Ticket 88-2301-77 was closed after 3 days; priority 2."),
]


def build(pool: str, n: int = 240, seed: int = 2026) -> list[dict]:
    offset = {"tune": 0, "judge": 1, "fresh": 2}[pool]
    rng = random.Random(seed + offset)
    fakers = {loc: Faker(loc) for loc in set(LOCALES + EU_ADDRESS)}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed * 17 + i + 1000 * offset)
    temps = [t for p, t in TEMPLATES if p == pool]
    negs = [t for p, t in NEGATIVES if p == pool]
    out = []
    for i in range(n):
        neg = i % 6 == 5
        t = rng.choice(negs if neg else temps)
        f = fakers[rng.choice(LOCALES)]
        values = {
            "NAME": ("PERSON", f"{f.first_name()} {f.last_name()}"),
            "PHONE": ("PHONE_NUMBER", f.phone_number()),
            "ADDR": ("STREET_ADDRESS", fakers[rng.choice(EU_ADDRESS + ["en_US"])].address().replace("\n", ", ")),
            "DOB": ("DATE_OF_BIRTH", _dob(rng)),
            "MRN": ("MEDICAL_RECORD_NUMBER", _mrn(rng)),
            "EMAIL": ("EMAIL_ADDRESS", f.free_email()),
            "COND": (None, rng.choice(CONDITIONS)),
            "MED": (None, rng.choice(MEDS)),
        }
        text, ents, pos = "", [], 0
        while True:
            a = t.find("{", pos)
            if a < 0:
                text += t[pos:]
                break
            b = t.index("}", a)
            text += t[pos:a]
            kind, val = values[t[a + 1:b]]
            if kind:
                ents.append({"type": kind, "start": len(text), "end": len(text) + len(val)})
            text += val
            pos = b + 1
        cats = set()
        types = {e["type"] for e in ents}
        if types - {"MEDICAL_RECORD_NUMBER"}:
            cats.add("PII")
        if "MEDICAL_RECORD_NUMBER" in types or any(k in t for k in ("{COND}", "{MED}", "cardiology", "lab results", "allergies")) and types:
            cats.add("PHI")
        out.append({"id": f"own-{pool}-{i:04d}", "text": text, "categories": sorted(cats), "entities": ents,
                    "source": f"own:{pool}"})
    return out


def main(argv: list[str]) -> int:
    # Some Faker locales pick from sets, whose order follows string hashing: pin it.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable, *argv], {**os.environ, "PYTHONHASHSEED": "0"})
    pool = argv[1] if len(argv) > 1 else "judge"
    for row in build(pool):
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
