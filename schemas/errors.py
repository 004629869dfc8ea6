"""Errors of the event contracts.

    SchemaError
    ├── EventDecodeError        bytes that cannot become an event
    │   ├── NotAnEventError         no single-object / wire-format marker
    │   ├── UnknownSchemaError      framing names a writer schema we have no record of
    │   └── CorruptPayloadError     the Avro body does not match its writer schema
    └── InvalidEventError       a value that does not satisfy the current schema

Consumers catch ``EventDecodeError`` to dead-letter a message; producers and
the CLI catch ``InvalidEventError`` to tell a user which field is wrong.
"""

from __future__ import annotations

__all__ = [
    "CorruptPayloadError",
    "EventDecodeError",
    "InvalidEventError",
    "NotAnEventError",
    "SchemaError",
    "UnknownSchemaError",
]


class SchemaError(Exception):
    """Base of every error raised by ``schemas``."""


class EventDecodeError(SchemaError):
    """Bytes read from a topic could not be decoded into an event."""


class NotAnEventError(EventDecodeError):
    """The bytes do not start with an encoding marker we know."""


class UnknownSchemaError(EventDecodeError):
    """The writer schema named by the framing is not on record."""


class CorruptPayloadError(EventDecodeError):
    """The body could not be read with the writer schema it names."""


class InvalidEventError(SchemaError):
    """A record does not satisfy its schema; the message names the field."""
