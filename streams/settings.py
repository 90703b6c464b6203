"""Settings: the only module that reads the environment (pydantic-settings).

Service variables use the prefix ``STREAMS_`` and ``__`` for nested groups, e.g.
``STREAMS_CORE__SPACY_MODEL=en_core_web_md`` or ``STREAMS_TOPICS__CLAIMS=claims-v1``.
Kafka connection variables use the conventional ``KAFKA_`` names
(``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_SASL_PASSWORD``, ...). Secrets are `SecretStr`:
masked in every dump, log and error message.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.core.config import CoreConfig
from streams.core.records import TopicNames


class TopicSettings(BaseModel):
    """Topic names, layout and retention (`streams.topic_specs` turns them into specs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: str = "raw-articles"
    articles: str = "articles"
    claims: str = "claims"
    dead_letters: str = "raw-articles.dlq"
    claim_appearances: str = "claim-appearances"
    partitions: int = Field(
        default=4, ge=1, description="Partitions of topics the service creates."
    )
    parsed_partitions: int = Field(
        default=16,
        ge=1,
        description="Partitions of the internal topic of parsed stories (the enrich stage): "
        "each is published in order, so the more there are, the fewer short stories wait "
        "behind a long page; not tied to the input's.",
    )
    replication_factor: int = Field(default=1, ge=1)
    input_retention: timedelta = Field(
        default=timedelta(days=7),
        gt=timedelta(0),
        description="How long the input (and the internal stage topics) keep records "
        "(retention.ms): how long a stopped worker can be down and still catch up, or "
        "input be reprocessed. ISO 8601 duration, e.g. P7D.",
    )
    dead_letters_retention: timedelta = Field(
        default=timedelta(days=30),
        gt=timedelta(0),
        description="How long dead letters are kept (retention.ms): longer than the "
        "input, so rejected events can be triaged after the fact.",
    )

    def outputs(self) -> TopicNames:
        """The output topic names as the core uses them."""
        return TopicNames(
            articles=self.articles,
            claims=self.claims,
            dead_letters=self.dead_letters,
            claim_appearances=self.claim_appearances,
        )


class WorkerSettings(BaseModel):
    """How the Faust worker runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    app_id: str = Field(default="streams", description="Faust app id = consumer group id.")
    web_host: str = Field(default="0.0.0.0", description="Address of /metrics, /healthz, /readyz.")
    web_port: int = Field(default=6066, ge=1, le=65535)
    batch_size: int = Field(default=16, ge=1, description="Events taken from the stream at once.")
    batch_within_seconds: float = Field(
        default=0.01,
        gt=0,
        description="Longest wait to fill a batch (a backlog fills it at once; each of the "
        "three stages waits this long when input is sparse, so it adds to latency).",
    )
    processes: int = Field(default=1, ge=1, description="NLP worker processes (one model each).")
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    store: str = Field(default="memory://", description="Faust table store URL.")
    data_dir: Path = Field(default=Path(".streams-data"), description="Faust data directory.")
    broker_session_timeout_seconds: float = Field(default=60.0, gt=0)
    broker_request_timeout_seconds: float = Field(default=90.0, gt=0)


class KafkaSettings(BaseSettings):
    """Kafka connection, from the conventional ``KAFKA_*`` variables.

    When `bootstrap_servers` is unset, `streams run` starts a local single-node broker.
    The password is a `SecretStr` (masked in repr, str and dumps), and validation errors
    leave the input out (`hide_input_in_errors`), so no error message can carry it.
    """

    model_config = SettingsConfigDict(
        env_prefix="KAFKA_", frozen=True, extra="ignore", hide_input_in_errors=True
    )

    bootstrap_servers: str | None = Field(
        default=None,
        description="host:port[,host:port...]; unset = local broker for `streams run`.",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_check_hostname: bool = True
    client_id: str = "streams"

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL_"):
            if not self.sasl_mechanism:
                raise ValueError("KAFKA_SASL_MECHANISM is required with a SASL security protocol")
            if not self.sasl_username or self.sasl_password is None:
                raise ValueError(
                    "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required for SASL"
                )
        return self


class Settings(BaseSettings):
    """Everything configurable, read once at start-up (in `streams.cli`) and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMS_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    core: CoreConfig = CoreConfig()
    topics: TopicSettings = TopicSettings()
    worker: WorkerSettings = WorkerSettings()
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
