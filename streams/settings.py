"""Settings: the only module that reads the environment (pydantic-settings).

Variables use the prefix ``STREAMS_`` and ``__`` for nested groups, e.g.
``STREAMS_CORE__SPACY_MODEL=en_core_web_md`` or ``STREAMS_TOPICS__CLAIMS=claims-v1``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.core.config import CoreConfig
from streams.core.records import TopicNames


class TopicSettings(BaseModel):
    """Topic names (input and outputs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: str = "raw-articles"
    articles: str = "articles"
    claims: str = "claims"
    dead_letters: str = "raw-articles.dlq"

    def outputs(self) -> TopicNames:
        """The output topic names as the core uses them."""
        return TopicNames(
            articles=self.articles, claims=self.claims, dead_letters=self.dead_letters
        )


class Settings(BaseSettings):
    """Everything configurable, read once at start-up and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMS_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    core: CoreConfig = CoreConfig()
    topics: TopicSettings = TopicSettings()
