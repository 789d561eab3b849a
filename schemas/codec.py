"""Avro single-object encoding for every ledgergate message.

Framing (Avro 1.11 specification, "Single object encoding")::

    C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's
            Parsing Canonical Form | Avro binary body

The fingerprint names the writer schema in every message, so a reader that holds
a newer or older version of the schema resolves the body with Avro's schema
resolution rules. Any team can produce or consume the topics with any Avro
library that implements the specification; no schema registry is needed.

This module imports nothing else of ours: schemas/ is the shared contract.
"""

from __future__ import annotations

import io
import json
import struct
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

MAGIC = b"\xc3\x01"
HEADER_LEN = 10
SCHEMA_NAMES = (
    "RequestEvent",
    "Decision",
    "ResponseEvent",
    "AuditRecord",
    "Checkpoint",
    "SignedEnvelope",
)


class SchemaError(Exception):
    """Base of every error raised by ledgergate.schemas."""


class UnknownSchemaError(SchemaError):
    """The message names a writer schema this reader does not know."""


class DecodeError(SchemaError):
    """The bytes are not a valid single-object-encoded message."""


class EncodeError(SchemaError):
    """The record does not fit the schema."""


class Schema:
    """One parsed Avro schema with its fingerprint, ready to encode and decode."""

    __slots__ = ("name", "raw", "parsed", "fingerprint", "header")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = dict(raw)
        self.name = str(raw["name"])
        # parse once with fastavro's write hint so encoders reuse it (without
        # the hint every schemaless_writer call re-prepares the schema)
        self.parsed = fastavro.parse_schema(self.raw)
        canonical = to_parsing_canonical_form(fastavro.parse_schema(self.raw, _write_hint=False))
        self.fingerprint = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
        # fastavro returns the fingerprint big-endian as hex; the spec frames it
        # little-endian.
        self.header = MAGIC + self.fingerprint[::-1]

    def __repr__(self) -> str:
        return f"Schema({self.name}, fp={self.fingerprint.hex()})"


@lru_cache(maxsize=None)
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
        for s in self._readers.values():
            self._writers[s.fingerprint] = s
        for s in extra_writers or []:
            self._writers[s.fingerprint] = s

    @classmethod
    def default(cls) -> "Codec":
        """A codec knowing every packaged schema as both reader and writer."""
        return cls({n: schema(n) for n in SCHEMA_NAMES})

    def add_writer(self, s: Schema) -> None:
        """Accept messages written with ``s`` (another version of a known schema)."""
        self._writers[s.fingerprint] = s

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
        fp = data[2:HEADER_LEN][::-1]
        try:
            return self._writers[fp]
        except KeyError:
            raise UnknownSchemaError(
                f"unknown writer schema fingerprint {fp.hex()}: register the writer's "
                "schema with Codec.add_writer or upgrade ledgergate"
            ) from None

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
