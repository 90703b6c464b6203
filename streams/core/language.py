"""Language of an article body, when neither the crawler nor the page says it.

py3langid ships its model inside the package (nothing downloads); classifying a body
takes about a millisecond. Only confident answers are returned: a wrong language is
worse than none for consumers that route by it.
"""

from __future__ import annotations

import functools
from typing import Any

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

MIN_CHARS = 40
MIN_PROBABILITY = 0.9
SAMPLE_CHARS = 4000


@functools.cache
def _identifier() -> Any:
    return LanguageIdentifier.from_model_file(MODEL_DIR / MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of `text`, or None when it is too short or the model is unsure.

    Args:
        text (str): body text; only the first 4,000 characters are read.

    Returns:
        str | None: e.g. "en".
    """
    sample = text[:SAMPLE_CHARS]
    if len(sample.strip()) < MIN_CHARS:
        return None
    code, probability = _identifier().classify(sample)
    return str(code) if probability >= MIN_PROBABILITY else None
