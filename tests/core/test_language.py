"""Language detection for bodies that carry no language hint."""

from __future__ import annotations

from streams.core.language import detect_language


def test_detects_english_and_german() -> None:
    english = "The council voted on Tuesday to close the bridge after engineers found cracks."
    german = "Der Stadtrat hat am Dienstag beschlossen, die Brücke wegen Rissen zu sperren."
    assert detect_language(english) == "en"
    assert detect_language(german) == "de"


def test_short_or_unclear_text_gives_none() -> None:
    assert detect_language("Hello") is None
    assert detect_language("12345 67890 " * 5) is None
