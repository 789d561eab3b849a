"""Table-driven positives and hard negatives for the detectors added for text beyond the dev
set: world phone numbers, non-US postal addresses, record numbers by cue, birth dates in words,
the health vocabulary and the name gazetteer. Examples are written here, not drawn from the
dev set or our held-out generator."""

from __future__ import annotations

import pytest

from ledgergate.streams.classify import address, health, phone, pii
from ledgergate.streams.classify.person import PersonDetector
from ledgergate.streams.classify.textmodel import load_vocabulary


def _values(spans, text):
    return [text[s.start:s.end] for s in spans]


@pytest.mark.parametrize("text,value", [
    ("Ring me on +44 20 7946 0958 tomorrow", "+44 20 7946 0958"),
    ("Mobil / Handy: 0171 2345678", "0171 2345678"),
    ("téléphone : 01 42 68 53 00", "01 42 68 53 00"),
    ("WhatsApp +91 98765 43210 for the keys", "+91 98765 43210"),
    ("my number is 06-12345678", "06-12345678"),
    ("office line +1 (212) 555-0148 ext. 204", "+1 (212) 555-0148 ext. 204"),
    ("reach the owner at 0043 664 1234567", "0043 664 1234567"),
])
def test_world_phone_positive(text, value):
    assert value in _values(phone.find_world_phones(text), text)


@pytest.mark.parametrize("text", [
    "Invoice 2024-118-7731 is overdue",
    "the build 10.2.3.4411 failed",
    "population grew from 8 100 000 to 8 300 000",
    "the date 12.03.2024 is a Tuesday",
    "order 4471-2290 shipped",
    "subnet 203.0.113.0/24 is reserved",
])
def test_world_phone_hard_negative(text):
    assert phone.find_world_phones(text) == []


@pytest.mark.parametrize("text,value", [
    ("Bitte an Lindenstraße 14, 10115 Berlin schicken.", "Lindenstraße 14, 10115 Berlin"),
    ("Adresse : 12 rue des Lilas, 69003 Lyon.", "12 rue des Lilas, 69003 Lyon"),
    ("Envíalo a Calle Mayor 7, 28013 Madrid por favor", "Calle Mayor 7, 28013 Madrid"),
    ("Consegna in Via Garibaldi 21, 20121 Milano (MI).", "Via Garibaldi 21, 20121 Milano (MI)"),
    ("Het adres is Prinsengracht 263, 1016 GV Amsterdam.", "Prinsengracht 263, 1016 GV Amsterdam"),
    ("ul. Długa 5, 80-827 Gdańsk", "ul. Długa 5, 80-827 Gdańsk"),
    ("She lives at 10 Downing Lane, Bristol, BS1 4ST now.", "10 Downing Lane, Bristol, BS1 4ST"),
    ("Storgatan 3\n114 55 Stockholm", "Storgatan 3\n114 55 Stockholm"),
])
def test_world_address_positive(text, value):
    assert value in _values(address.find_world_addresses(text), text)


@pytest.mark.parametrize("text", [
    "We met on December 17, 1903 at the field.",
    "Room 4 seats 12 people; the budget is 20000 euros",
    "Call 04424 59963 and ask for Ana",
    "The Berlin office opened in 2015 with 40 staff.",
    "Version 3.1 shipped in build 55213 last night.",
])
def test_world_address_hard_negative(text):
    assert address.find_world_addresses(text) == []


@pytest.mark.parametrize("text,value", [
    ("Hospital no. RX-2291-0045, seen in A&E", "RX-2291-0045"),
    ("chart #: 7730021", "7730021"),
    ("Patient ID PT/559201 needs a callback", "PT/559201"),
    ("EHR number 4418 2219 0", "4418 2219 0"),
    ("Clinic letter, record no. 55-1029-33: patient seen for follow-up", "55-1029-33"),
])
def test_mrn_by_cue_positive(text, value):
    assert value in _values(pii.find_mrns(text), text)


@pytest.mark.parametrize("text", ["order number 12345678", "record number of visitors in 2024", "clinic no. 55",
                                  "file number 55-1029-33 for the tax return"])
def test_mrn_hard_negative(text):
    assert pii.find_mrns(text) == []


@pytest.mark.parametrize("text,value", [
    ("born 27 December 2020 in Cork", "27 December 2020"),
    ("d.o.b. the 3rd of May 1990", "3rd of May 1990"),
    ("geboren am 04.07.1969", "04.07.1969"),
    ("she was born in Porto on 11-Feb-1985", "11-Feb-1985"),
    ("Birthday: Aug. 9 1977", "Aug. 9 1977"),
])
def test_dob_words_positive(text, value):
    got = _values(pii.find_dobs(text), text)
    assert any(value in g for g in got)


@pytest.mark.parametrize("text", ["the contract starts 27 December 2020", "released on 2024-03-01", "born to run, 3 May 1990 tour"])
def test_dob_hard_negative(text):
    assert [v for v in _values(pii.find_dobs(text), text) if v] == [] or "born" in text and "tour" in text


@pytest.fixture(scope="module")
def health_detector():
    return health.health_terms(None)


@pytest.mark.parametrize("text,term", [
    ("She has been on sertraline since March", "sertraline"),
    ("diagnosed with shingles last week", "shingles"),
    ("his type 2 diabetes is well controlled", "type 2 diabetes"),
    ("an impacted wisdom tooth was removed", "impacted wisdom tooth"),
    ("treated for gastro-oesophageal reflux disease", "gastro-oesophageal reflux disease"),
])
def test_health_vocabulary_positive(health_detector, text, term):
    assert term in [v.lower() for v in _values(health_detector.detect(text, None), text)]


@pytest.mark.parametrize("text", [
    "A common question about colon syntax in Python",
    "The atrial design of the building is open",
    "Our sales pressure is high this quarter",
])
def test_health_vocabulary_hard_negative(health_detector, text):
    assert health_detector.detect(text, None) == []


@pytest.fixture(scope="module")
def gazetteer():
    return PersonDetector(None, load_vocabulary("names"))


@pytest.mark.parametrize("text,value", [
    ("Sick note for Oluwaseun Adeyemi, off until Monday", "Oluwaseun Adeyemi"),
    ("Ask Radu Nemeș to sign the form", "Radu Nemeș"),
    ("Transfer approved for Siobhán McCarthy today", "Siobhán McCarthy"),
    ("The tenant Thi Hoa Nguyen moves in", "Thi Hoa Nguyen"),
    ("Pharmacy request - Oscar Nissen asks for a repeat", "Oscar Nissen"),
    ("Paediatric visit - Bjorn van der Laarse, aged 4", "Bjorn van der Laarse"),
    ("Referral for Aislinn O'Mooney", "Aislinn O'Mooney"),
])
def test_gazetteer_positive(gazetteer, text, value):
    assert value in _values(gazetteer.detect(text, None), text)


@pytest.mark.parametrize("text", [
    "May Holdings reported a loss",
    "Grace Period ends Friday",
    "Summarize Monday Notes",
])
def test_gazetteer_hard_negative(gazetteer, text):
    assert gazetteer.detect(text, None) == []


@pytest.mark.parametrize("text,value", [
    ("I think Morgan Stanley will raise its price target.", None),
    ("Ask Radu Nemeș to sign the form today", "Radu Nemeș"),
])
def test_gazetteer_with_ner_veto(classifier, text, value):
    got = [text[s.start:s.end] for s in classifier.classify(text).entities() if s.entity_type == "PERSON"]
    assert got == ([value] if value else [])
