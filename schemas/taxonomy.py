"""What the classifier finds and policies speak about: the categories and the entity types.

One list for the whole project: the classifier's detectors, the policy bundle model, the
reports and the ``categories``/``entity_type`` fields of Decision and AuditRecord (see their
``doc`` in ``schemas/avro``) all use these names.
"""

from __future__ import annotations

# Document-level categories a prompt part can carry.
CATEGORIES: tuple[str, ...] = (
    "PII", "PHI", "MNPI", "SECRET", "SOURCE_CODE", "PROMPT_INJECTION",
)
# Entity types: values inside a text that can be redacted.
ENTITY_TYPES: tuple[str, ...] = (
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN", "CREDIT_CARD", "IBAN_CODE",
    "IP_ADDRESS", "US_BANK_NUMBER", "DATE_OF_BIRTH", "MEDICAL_RECORD_NUMBER",
    "STREET_ADDRESS", "SECRET",
)
