"""Builds the spaCy pipeline once per process from CoreConfig.

Only installed packages are loaded (nothing downloads at run time). A small registered
component marks every paragraph start as a sentence start, so that no sentence, entity
or quote ever spans two paragraphs of the body.
"""

from __future__ import annotations

import functools
import importlib.util

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from streams.errors import ModelNotInstalledError

PARAGRAPH_BREAK = "\n\n"


@Language.component(
    "paragraph_boundaries", assigns=["token.is_sent_start"], requires=[], retokenizes=False
)
def paragraph_boundaries(doc: Doc) -> Doc:
    """Start a sentence after every whitespace token holding a paragraph break."""
    for token in doc[:-1]:
        if token.is_space and "\n" in token.text:
            doc[token.i + 1].is_sent_start = True
    return doc


@functools.lru_cache(maxsize=4)
def load_nlp(model: str) -> Language:
    """Load `model` once per process.

    Args:
        model (str): name of an installed spaCy pipeline package.

    Returns:
        Language: the pipeline, with `paragraph_boundaries` before the parser.

    Raises:
        ModelNotInstalledError: the package is not installed.
    """
    if importlib.util.find_spec(model) is None:
        raise ModelNotInstalledError(model)
    nlp = spacy.load(model)
    before = "parser" if "parser" in nlp.pipe_names else None
    if before:
        nlp.add_pipe("paragraph_boundaries", before=before)
    else:
        nlp.add_pipe("paragraph_boundaries", first=True)
    return nlp
