"""KafkaSettings → keyword arguments for aiokafka clients (producer, consumer, admin).

One translation shared by `streams produce`, `streams tail`, topic administration, the
worker and tests, so security settings behave the same everywhere. `security_problem`
tells a wrong CA file or a wrong password apart from a broker that is down: aiokafka's
clients only say "Unable to bootstrap" and log the cause.

Importing this module also masks SASL payloads in aiokafka's debug log of requests: with
SASL/PLAIN the payload *is* the password (SCRAM sends only proofs).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

from streams.errors import (
    KafkaAuthenticationError,
    KafkaMechanismError,
    KafkaProtocolError,
    KafkaSecurityError,
    KafkaTLSError,
    StreamsError,
)
from streams.settings import KafkaSettings

PROBE_TIMEOUT_SECONDS = 10.0
"""How long `security_problem` gives one bootstrap server to finish TLS and SASL."""

_CAFILE_HINT = (
    "check KAFKA_SSL_CAFILE: it must name the PEM file of the CA that signed the broker's "
    "certificate"
)
_HOSTNAME_MISMATCH = 62  # X509_V_ERR_HOSTNAME_MISMATCH


class _MaskSaslPayloads(logging.Filter):
    """Replaces SaslAuthenticate requests in aiokafka.conn's "Request to ..." debug records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_is_sasl_request(a) for a in record.args):
            record.args = tuple(
                "SaslAuthenticateRequest(<masked>)" if _is_sasl_request(arg) else arg
                for arg in record.args
            )
        return True


def _is_sasl_request(value: object) -> bool:
    return type(value).__name__.startswith("SaslAuthenticateRequest")


def mask_sasl_payloads() -> None:
    """Install the mask on aiokafka's connection logger (idempotent; done at import)."""
    logger = logging.getLogger("aiokafka.conn")
    if not any(isinstance(existing, _MaskSaslPayloads) for existing in logger.filters):
        logger.addFilter(_MaskSaslPayloads())


mask_sasl_payloads()


class BrokerNotConfiguredError(StreamsError):
    """A command needs a broker and KAFKA_BOOTSTRAP_SERVERS is not set."""

    def __init__(self) -> None:
        super().__init__(
            "KAFKA_BOOTSTRAP_SERVERS is not set; point it at a broker (e.g. 127.0.0.1:9092) "
            "or start one with `streams broker`"
        )


def _no_key_password() -> bytes:
    """An encrypted KAFKA_SSL_KEYFILE fails to load instead of prompting on the terminal."""
    return b""


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """A TLS context for SSL/SASL_SSL, verifying the broker against `ssl_cafile`.

    Raises:
        KafkaTLSError: the CA file or the client certificate cannot be loaded.
    """
    if kafka.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    cafile = str(kafka.ssl_cafile) if kafka.ssl_cafile else None
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as error:  # missing file, not PEM
        raise KafkaTLSError(
            bootstrap=None,
            reason=f"cannot load KAFKA_SSL_CAFILE {cafile}: {_ssl_reason(error)}",
            hint=_CAFILE_HINT,
        ) from None
    context.check_hostname = kafka.ssl_check_hostname
    if kafka.ssl_certfile:
        try:
            context.load_cert_chain(
                str(kafka.ssl_certfile),
                str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None,
                password=_no_key_password,
            )
        except (OSError, ssl.SSLError) as error:
            raise KafkaTLSError(
                bootstrap=None,
                reason=f"cannot load the client certificate {kafka.ssl_certfile}: "
                f"{_ssl_reason(error)}",
                hint="check KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE (PEM, key unencrypted)",
            ) from None
    return context


def client_options(kafka: KafkaSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for the configured cluster.

    Raises:
        BrokerNotConfiguredError: no bootstrap servers are configured.
        KafkaTLSError: TLS files cannot be loaded.
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


async def security_problem(
    kafka: KafkaSettings, *, timeout: float = PROBE_TIMEOUT_SECONDS, after_failure: bool = False
) -> KafkaSecurityError | None:
    """Why the brokers refuse us, found by connecting to each bootstrap server directly.

    Opens one connection the way aiokafka does (TLS handshake, then SASL) and keeps the
    cause aiokafka's clients only log. A refused TLS handshake or password is returned as
    an error naming the setting to check; it never contains the password.

    Args:
        kafka (KafkaSettings): the cluster and its security settings.
        timeout (float): seconds per bootstrap server. Defaults to PROBE_TIMEOUT_SECONDS.
        after_failure (bool): the clients already failed, so a server that takes the TCP
            connection and then drops it is reported as a protocol mismatch (TLS to a
            plain listener, or the reverse); before that it may just be restarting.
            Defaults to False.

    Returns:
        KafkaSecurityError | None: the refusal, or None when a server accepted us, none
            answered (down, or not yet up: the caller's retries decide), or the protocol
            is PLAINTEXT and the clients have not failed yet.

    Raises:
        BrokerNotConfiguredError, KafkaTLSError: as `client_options`.
    """
    from aiokafka import errors
    from aiokafka.conn import create_conn

    options = client_options(kafka)
    if kafka.security_protocol == "PLAINTEXT" and not after_failure:
        return None  # nothing to refuse; a plain listener that drops us is told after failure
    for bootstrap in _bootstrap_addresses(options["bootstrap_servers"]):
        host, _, port = bootstrap.rpartition(":")
        try:
            connection = await asyncio.wait_for(
                create_conn(
                    host,
                    int(port),
                    client_id=options["client_id"],
                    request_timeout_ms=int(timeout * 1000),
                    ssl_context=options.get("ssl_context"),
                    security_protocol=options["security_protocol"],
                    sasl_mechanism=options.get("sasl_mechanism"),
                    sasl_plain_username=options.get("sasl_plain_username"),
                    sasl_plain_password=options.get("sasl_plain_password"),
                ),
                timeout,
            )
        except ssl.SSLCertVerificationError as error:
            return _verification_failed(bootstrap, host, error)
        except ssl.SSLError as error:  # e.g. SSL to a plain-text listener
            return KafkaTLSError(
                bootstrap=bootstrap,
                reason=f"handshake failed: {_ssl_reason(error)}",
                hint="check KAFKA_SECURITY_PROTOCOL: does this listener speak TLS?",
            )
        except errors.SaslAuthenticationFailed as error:
            return KafkaAuthenticationError(
                username=kafka.sasl_username,
                bootstrap=bootstrap,
                mechanism=str(kafka.sasl_mechanism),
                reason=_broker_reason(error),
            )
        except (errors.UnsupportedSaslMechanismError, errors.IllegalSaslStateError) as error:
            return KafkaMechanismError(
                bootstrap=bootstrap,
                mechanism=str(kafka.sasl_mechanism),
                reason=_broker_reason(error),
            )
        except ConnectionRefusedError:
            continue  # nothing listens there (yet)
        except (ConnectionResetError, errors.KafkaConnectionError):
            if after_failure:
                return KafkaProtocolError(bootstrap=bootstrap, protocol=kafka.security_protocol)
            continue
        except (OSError, TimeoutError, ValueError, errors.KafkaError):
            continue  # unreachable, or a failure this probe cannot explain
        connection.close()
        return None
    return None


def _bootstrap_addresses(servers: str) -> list[str]:
    return [host.strip() for host in servers.split(",") if host.strip()]


def _ssl_reason(error: OSError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return str(error.verify_message)
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason).replace("_", " ").lower()
    return str(error.strerror or error)


def _verification_failed(
    bootstrap: str, host: str, error: ssl.SSLCertVerificationError
) -> KafkaTLSError:
    if error.verify_code == _HOSTNAME_MISMATCH:
        hint = (
            f"the broker's certificate does not name {host}: connect by a name it covers "
            "(KAFKA_BOOTSTRAP_SERVERS), or check KAFKA_SSL_CAFILE"
        )
    else:
        hint = _CAFILE_HINT
    return KafkaTLSError(
        bootstrap=bootstrap,
        reason=f"the broker's certificate was not accepted: {_ssl_reason(error)}",
        hint=hint,
    )


def _broker_reason(error: Exception) -> str:
    """The broker's own words, as one line (its messages name the mechanism, never secrets)."""
    text = next((str(arg) for arg in error.args if isinstance(arg, str) and arg), "")
    text = text or getattr(error, "description", "") or type(error).__name__
    return " ".join(text.split()).rstrip(".")
