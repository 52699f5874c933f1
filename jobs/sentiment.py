"""Pure: the sentiment polarity of a comment, offline.

TextBlob's default analyzer (PatternAnalyzer) scores with a lexicon that ships inside the package and
tokenizes with a regular expression, so it needs no NLTK corpora. Only `.sentiment` of the whole text
is used: `.sentences`, `.words` and `.noun_phrases` would need corpora that are not installed.
"""

from __future__ import annotations

from textblob import TextBlob


def polarity(text: str) -> float:
    """From -1.0 (negative) to 1.0 (positive); 0.0 for empty or neutral text."""
    if not text.strip():
        return 0.0
    return float(TextBlob(text).sentiment.polarity)
