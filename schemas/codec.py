"""Avro single-object encoding for every ledgergate message.

Framing (Avro specification, "Single object encoding")::

    C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's
            Parsing Canonical Form | Avro binary body

The fingerprint names the writer schema in every message, so a reader that holds
a newer or older version of the schema resolves the body with Avro's schema
resolution rules. Any team can produce or consume the topics with any Avro
library that implements the specification.

Legacy header: ledgergate releases before the fix of issue #12 wrote the
fingerprint byte-reversed (big-endian). Records signed then keep their bytes, so
readers also accept that order for fingerprints they know; nothing writes it.

This module imports nothing else of ours: schemas/ is the shared contract.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from ledgergate.errors import LedgergateError

MAGIC = b"\xc3\x01"
HEADER_LEN = 10
SCHEMA_NAMES = (
    "RequestEvent",
    "Decision",
    "ResponseEvent",
    "AuditRecord",
    "Checkpoint",
    "SignedEnvelope",
    "GovernanceEvent",
)


class SchemaError(LedgergateError):
    """Base of every error raised by ledgergate.schemas."""


class UnknownSchemaError(SchemaError):
    """The message names a writer schema this reader does not know.

    ``fingerprint`` holds the 8 fingerprint bytes as they appear on the wire
    (None when a schema was asked for by name), so a caller can look the writer
    schema up (schemas/store.py) and retry.
    """

    def __init__(self, message: str, fingerprint: bytes | None = None) -> None:
        super().__init__(message)
        self.fingerprint = fingerprint


class DecodeError(SchemaError):
    """The bytes are not a valid single-object-encoded message."""


class EncodeError(SchemaError):
    """The record does not fit the schema."""


class Schema:
    """One parsed Avro schema with its fingerprint, ready to encode and decode."""

    __slots__ = ("name", "raw", "parsed", "canonical", "fingerprint", "header", "legacy_header")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        if not isinstance(raw, Mapping) or raw.get("type") != "record" or not raw.get("name"):
            raise SchemaError(f"expected an Avro record schema (a JSON object with type "
                              f"'record' and a name), got {str(raw)[:80]!r}")
        self.raw = dict(raw)
        self.name = str(raw["name"])
        try:
            # parse once with fastavro's write hint so encoders reuse it (without
            # the hint every schemaless_writer call re-prepares the schema)
            self.parsed = fastavro.parse_schema(self.raw)
            self.canonical = to_parsing_canonical_form(
                fastavro.parse_schema(self.raw, _write_hint=False))
        except (fastavro.schema.SchemaParseException, ValueError, TypeError, KeyError) as exc:
            raise SchemaError(f"invalid Avro schema {self.name!r}: {exc}") from exc
        # fastavro's CRC-64-AVRO hex is already the spec's little-endian byte
        # order (for "null": 8a8f25cce724dd63, the bytes of 7195948357588979594)
        self.fingerprint = bytes.fromhex(fingerprint(self.canonical, "CRC-64-AVRO"))
        self.header = MAGIC + self.fingerprint
        self.legacy_header = MAGIC + self.fingerprint[::-1]

    @property
    def fingerprint_int(self) -> int:
        """The fingerprint as the spec's signed 64-bit integer (Java's ``long``)."""
        return int.from_bytes(self.fingerprint, "little", signed=True)

    def __repr__(self) -> str:
        return f"Schema({self.name}, fp={self.fingerprint.hex()})"


@cache
def schema(name: str) -> Schema:
    """Return the packaged schema ``name`` (e.g. ``"RequestEvent"``)."""
    if name not in SCHEMA_NAMES:
        raise UnknownSchemaError(
            f"unknown schema {name!r}: expected one of {', '.join(SCHEMA_NAMES)}"
        )
    text = resources.files(__package__).joinpath("avro", f"{name}.avsc").read_text("utf-8")
    return Schema(json.loads(text))


def schema_json(name: str) -> str:
    """The packaged .avsc text of ``name``, for documentation and other teams."""
    return json.dumps(schema(name).raw, indent=2)


class Codec:
    """Encodes with one writer schema per name and decodes any known writer schema.

    ``extra_writers`` lets a reader accept messages written with older or newer
    versions of a schema (schema evolution); by default only the packaged
    versions are known.
    """

    def __init__(self, readers: Mapping[str, Schema] | None = None,
                 extra_writers: list[Schema] | None = None) -> None:
        self._readers: dict[str, Schema] = dict(readers) if readers else {}
        self._writers: dict[bytes, Schema] = {}
        # fingerprints in the pre-#12 byte order, only for reading stored bytes
        self._legacy: dict[bytes, Schema] = {}
        for s in [*self._readers.values(), *(extra_writers or [])]:
            self.add_writer(s)

    @classmethod
    def default(cls) -> Codec:
        """A codec knowing every packaged schema as both reader and writer."""
        return cls({n: schema(n) for n in SCHEMA_NAMES})

    def add_writer(self, s: Schema) -> None:
        """Accept messages written with ``s`` (another version of a known schema)."""
        self._writers[s.fingerprint] = s
        self._legacy[s.fingerprint[::-1]] = s

    def knows(self, fp: bytes) -> bool:
        """Whether this codec can read a message whose header carries ``fp``."""
        return fp in self._writers or fp in self._legacy

    def writers(self) -> list[Schema]:
        """Every writer schema this codec can read (its readers included)."""
        return list(self._writers.values())

    def readers(self) -> dict[str, Schema]:
        """The schemas this codec encodes with, by name."""
        return dict(self._readers)

    def reader(self, name: str) -> Schema:
        try:
            return self._readers[name]
        except KeyError:
            raise UnknownSchemaError(
                f"no reader schema {name!r} in this codec: known {sorted(self._readers)}"
            ) from None

    def encode(self, name: str, record: Mapping[str, Any]) -> bytes:
        """Encode ``record`` as a single-object message of schema ``name``."""
        s = self.reader(name)
        buf = io.BytesIO()
        buf.write(s.header)
        try:
            fastavro.schemaless_writer(buf, s.parsed, record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise EncodeError(f"record does not fit schema {name}: {exc}") from exc
        return buf.getvalue()

    def writer_of(self, data: bytes) -> Schema:
        """The writer schema named by the message's fingerprint."""
        if len(data) < HEADER_LEN or data[:2] != MAGIC:
            raise DecodeError(
                "not an Avro single-object message: expected the marker C3 01 "
                f"and an 8-byte fingerprint, got {data[:10].hex() or 'empty bytes'}"
            )
        fp = bytes(data[2:HEADER_LEN])
        found = self._writers.get(fp) or self._legacy.get(fp)
        if found is None:
            raise UnknownSchemaError(
                f"unknown writer schema fingerprint {fp.hex()}: the writer must publish its "
                "schema (schemas topic, see README 'Topics'), or register it with "
                "Codec.add_writer", fingerprint=fp)
        return found

    def decode(self, data: bytes, expect: str | None = None) -> tuple[str, dict[str, Any]]:
        """Decode a message; returns (schema name, record).

        With ``expect``, the record is resolved into that reader schema and a
        message of another record type is an error.
        """
        writer = self.writer_of(data)
        name = expect or writer.name
        if writer.name != name:
            raise DecodeError(f"expected a {name} message, got a {writer.name} message")
        reader = self._readers.get(name, writer)
        try:
            rec = fastavro.schemaless_reader(
                io.BytesIO(memoryview(data)[HEADER_LEN:]), writer.parsed,
                reader.parsed if reader is not writer else None,
            )
        except (EOFError, ValueError, TypeError, IndexError, UnicodeDecodeError,
                struct.error) as exc:
            raise DecodeError(f"corrupt {name} message body: {exc}") from exc
        except fastavro.read.SchemaResolutionError as exc:  # pragma: no cover - defensive
            raise DecodeError(f"cannot resolve {writer.name} into reader {name}: {exc}") from exc
        return name, rec  # type: ignore[return-value]


_DEFAULT: Codec | None = None


def default_codec() -> Codec:
    """Process-wide codec over the packaged schemas (built once, immutable use)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Codec.default()
    return _DEFAULT


def encode(name: str, record: Mapping[str, Any]) -> bytes:
    """Shortcut for ``default_codec().encode``."""
    return default_codec().encode(name, record)


def decode(data: bytes, expect: str | None = None) -> dict[str, Any]:
    """Shortcut for ``default_codec().decode`` returning only the record."""
    return default_codec().decode(data, expect)[1]
