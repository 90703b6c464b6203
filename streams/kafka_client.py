"""KafkaSettings → keyword arguments for aiokafka clients (producer, consumer, admin).

One translation shared by `streams produce`, `streams tail`, topic administration and
tests, so security settings behave the same everywhere.
"""

from __future__ import annotations

import ssl
from typing import Any

from streams.errors import StreamsError
from streams.settings import KafkaSettings


class BrokerNotConfiguredError(StreamsError):
    """A command needs a broker and KAFKA_BOOTSTRAP_SERVERS is not set."""

    def __init__(self) -> None:
        super().__init__(
            "KAFKA_BOOTSTRAP_SERVERS is not set; point it at a broker (e.g. 127.0.0.1:9092) "
            "or start one with `streams broker`"
        )


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """A TLS context for SSL/SASL_SSL, verifying the broker against `ssl_cafile`."""
    if kafka.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    context.check_hostname = kafka.ssl_check_hostname
    if kafka.ssl_certfile:
        context.load_cert_chain(
            str(kafka.ssl_certfile), str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None
        )
    return context


def client_options(kafka: KafkaSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for the configured cluster.

    Raises:
        BrokerNotConfiguredError: no bootstrap servers are configured.
    """
    if not kafka.bootstrap_servers:
        raise BrokerNotConfiguredError()
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol,
        "client_id": kafka.client_id,
    }
    context = ssl_context(kafka)
    if context is not None:
        options["ssl_context"] = context
    if kafka.security_protocol.startswith("SASL_"):
        options["sasl_mechanism"] = kafka.sasl_mechanism
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = (
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        )
    return options
