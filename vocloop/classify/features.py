"""Reading a comment once: lexicon evidence with negation, contrast and intensity, and its n-grams.

One pass over the tokens produces everything the sentiment model weighs. The word valences come
from the lexicons that ship inside packages (TextBlob's pattern lexicon and VADER's lexicon and
emoji list) plus vocloop's customer phrases; nothing is downloaded. The rules follow VADER's
published heuristics, which plain TextBlob lacks for short customer text:

* negation flips (and damps) the valence of the next three words: "not bad" leans positive; a
  negation before a word with no valence ("does not work", "won't play") is counted as a failure
  described, the commonest way customers complain without an opinion word;
* words after "but"/"however" weigh 1.5x, words before 0.5x: "good but slow" leans negative;
* intensifiers ("very", "extremely") strengthen and dampeners ("slightly") weaken the next word;
* emoticons and emoji carry valence; "!" adds emphasis.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE

from vocloop.classify.phrases import FEEDBACK_PHRASES

TOKEN = re.compile(
    r"""(?:[<>]?[:;=8][\-o*']?[)\](\[dDpP/\\|@3}{]+)   # emoticons such as :) ;-( :D
      |<3
      |[a-z0-9]+(?:'[a-z]+)?                          # words, with contractions kept whole
      |[!?.,;]
      |[\U0001F000-\U0001FAFF\u2600-\u27BF]          # emoji
    """, re.IGNORECASE | re.VERBOSE)
CONTRAST = frozenset({"but", "however", "yet"})  # "although X, Y" puts the main clause after the comma: not a "but"
BOUNDARY = frozenset({".", ",", ";", "!", "?"})
FUNCTION_WORDS = frozenset(
    "a an the to be been being is are was were am do does did have has had it this that these those i you "
    "he she we they my your our their me us them even really very so too just ever quite at all any".split())
MODAL = frozenset({"would", "should", "could", "wish", "hope", "hoped", "expected", "supposed"})
NEGATION_SCOPE = 3
NEGATED_FACTOR = -0.74  # VADER's damped flip: "not great" is negative, but less than "awful"
CONTRAST_BEFORE, CONTRAST_AFTER = 0.5, 1.5
EXCLAMATION_BOOST = 0.07
COMPOUND_ALPHA = 15 / 16  # VADER's normalisation constant on a -1..1 valence scale


@dataclass(frozen=True)
class Lexicon:
    valence: dict[str, float]  # -1..1, VADER's (and emoji)
    textblob: dict[str, tuple[float, float]]  # polarity -1..1, subjectivity 0..1
    boosters: dict[str, float]
    negations: frozenset[str]
    phrases: dict[str, list[tuple[tuple[str, ...], float]]]  # first word -> (words, valence), longest first
    # Everything the rules ask of a token that any list above names, asked once per token (see _facts);
    # a token absent from it is a plain word.
    facts: dict[str, tuple] = field(default_factory=dict)


@dataclass
class Evidence:
    """What one pass over a comment found; `dense` feeds the model alongside the n-grams."""

    dense: list[float]
    ngrams: list[str] = field(default_factory=list)
    subjectivity: float = 0.0
    opinion_words: int = 0


DENSE_FEATURES = (
    "compound", "positive_sum", "negative_sum", "textblob_polarity", "textblob_subjectivity",
    "failures", "feedback_negative", "feedback_positive", "question", "exclamations", "length",
    "modal", "negations", "contrast",
)


@cache
def lexicon() -> Lexicon:
    """VADER's valences drive the rules; TextBlob's pattern lexicon is read beside them.

    Pattern gives polarity to many plain adjectives ("more" +0.5, "little" -0.19), which is noise
    inside a sum of opinion words, so its mean polarity and subjectivity are separate features.
    """
    from textblob.en import sentiment as pattern_lexicon

    valence: dict[str, float] = {}
    pattern_lexicon.load()
    textblob = {word: (float(senses[None][0]), float(senses[None][1])) for word, senses in pattern_lexicon.items()
                if senses[None][0] or senses[None][1]}
    vader_dir = resources.files("vaderSentiment")
    for line in (vader_dir / "vader_lexicon.txt").read_text(encoding="utf-8").splitlines():
        word, mean, *_ = line.split("\t")
        valence[word.lower()] = max(-1.0, min(1.0, float(mean) / 4))
    for line in (vader_dir / "emoji_utf8_lexicon.txt").read_text(encoding="utf-8").splitlines():
        emoji, _, description = line.partition("\t")
        score = sum(valence.get(word, 0.0) for word in description.lower().split())
        if score:
            valence[emoji] = max(-1.0, min(1.0, score))
    phrases: dict[str, list[tuple[tuple[str, ...], float]]] = {}
    for phrase, value in FEEDBACK_PHRASES.items():
        words = tuple(token.lower() for token in TOKEN.findall(phrase))
        phrases.setdefault(words[0], []).append((words, value))
    for candidates in phrases.values():
        candidates.sort(key=lambda item: -len(item[0]))
    boosters = {word: (0.3 if value > 0 else -0.3) for word, value in BOOSTER_DICT.items()}
    negations = frozenset(NEGATE) | {"no", "nothing", "nobody", "none", "neither", "nor", "without"}
    return Lexicon(valence, textblob, boosters, negations, phrases,
                   _facts(valence, textblob, negations, phrases))


def _facts(valence, textblob, negations, phrases) -> dict[str, tuple]:
    """Per known token: (boundary, phrases starting with it, negation, modal, valence, pattern's figures,
    a word that a negation before it makes a failure). One dict lookup instead of six per token: this
    pass is most of classifying an answer."""
    known = set(valence) | set(textblob) | set(negations) | set(phrases) | MODAL | BOUNDARY
    return {token: (token in BOUNDARY, phrases.get(token), _is_negation(token, negations), token in MODAL,
                    valence.get(token, 0.0), textblob.get(token), _can_fail(token))
            for token in known}


def _can_fail(token: str) -> bool:
    return token[0].isalpha() and token not in FUNCTION_WORDS


def tokenize(text: str) -> list[str]:
    text = text.replace("\u2019", "'")
    if text.isascii():  # the pattern ignores case, so lower-casing first finds the same tokens, at once
        return TOKEN.findall(text.lower())
    return [token.lower() for token in TOKEN.findall(text)]


def _is_negation(token: str, negations: frozenset[str]) -> bool:
    return token in negations or token.endswith("n't")


def read(text: str) -> Evidence:
    """One pass: valences with negation/contrast/intensity, failure cues, phrases and n-grams."""
    dense, words, subjectivity, opinion_words = scan(text)
    return Evidence(dense=dense, ngrams=_ngrams(words), subjectivity=subjectivity, opinion_words=opinion_words)


def scan(text: str) -> tuple[list[float], list[str], float, int]:
    """The pass itself: the dense figures, the words (what the n-grams are made of), subjectivity and
    the count of opinion words. The analyzer weighs the words without spelling out their n-grams."""
    lex = lexicon()
    facts, boosters = lex.facts, lex.boosters
    tokens = tokenize(text)
    words = [token for token in tokens if token[0].isalnum()]
    contrast_at = -1
    if not CONTRAST.isdisjoint(tokens):
        contrast_at = max(i for i, token in enumerate(tokens) if token in CONTRAST)
    positive = negative = 0.0
    failures = feedback_negative = feedback_positive = negations = modal = opinion_words = 0
    textblob_sum = subjectivity_sum = 0.0
    textblob_words = 0
    negated_until = -1
    i = 0
    count = len(tokens)
    while i < count:
        token = tokens[i]
        known = facts.get(token)
        if known is None:  # a plain word: no valence; a negation only by its n't
            if token.endswith("n't"):
                negations += 1
                negated_until = i + NEGATION_SCOPE
            elif i <= negated_until and _can_fail(token):
                failures += 1
                negated_until = -1  # one failure per negation
            i += 1
            continue
        boundary, candidates, negation, is_modal, value, pattern, can_fail = known
        if boundary:
            negated_until = -1
            i += 1
            continue
        width = 0
        if candidates:
            for phrase, phrase_value in candidates:
                if tuple(tokens[i:i + len(phrase)]) == phrase:
                    value, width = phrase_value, len(phrase)
                    break
        if width:
            if value < 0:
                feedback_negative += 1
            else:
                feedback_positive += 1
        elif negation:
            negations += 1
            negated_until = i + NEGATION_SCOPE
            i += 1
            continue
        else:
            if is_modal:
                modal = 1
            width = 1
            if pattern is not None:
                subjectivity_sum += pattern[1]
                textblob_words += 1
                textblob_sum += pattern[0] * (-0.5 if i <= negated_until else 1.0)  # pattern's own negation
        if value:
            opinion_words += 1
            previous = tokens[i - 1] if i else ""
            if previous in boosters:
                value *= 1 + boosters[previous]
            if i <= negated_until:
                value *= NEGATED_FACTOR
            if contrast_at >= 0:
                value *= CONTRAST_AFTER if i > contrast_at else CONTRAST_BEFORE
            if value > 0:
                positive += value
            else:
                negative -= value
        elif i <= negated_until and can_fail:
            failures += 1
            negated_until = -1  # one failure per negation
        i += width
    exclamations = min(tokens.count("!"), 4)
    total = positive - negative
    if total:
        total += math.copysign(EXCLAMATION_BOOST * exclamations, total)
    compound = total / math.sqrt(total * total + COMPOUND_ALPHA)
    subjectivity = subjectivity_sum / textblob_words if textblob_words else 0.0
    dense = [
        compound, positive, negative,
        textblob_sum / textblob_words if textblob_words else 0.0,
        subjectivity,
        float(min(failures, 2)), float(min(feedback_negative, 3)), float(min(feedback_positive, 3)),
        1.0 if "?" in tokens else 0.0, float(exclamations), math.log1p(len(words)),
        float(modal), float(min(negations, 3)), 1.0 if contrast_at >= 0 else 0.0,
    ]
    return dense, words, subjectivity, opinion_words


def _ngrams(words: list[str]) -> list[str]:
    grams = [f"w:{word}" for word in words]
    grams.extend(f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return grams
