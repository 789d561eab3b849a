"""PERSON: Presidio's spaCy recognizer, filtered to private individuals, plus cue patterns.

spaCy's small model over-fires on capitalised words (product names, jailbreak personas,
sentence-initial verbs) and misses names in record-like text ("Name: Jane Roe"). The filter
keeps spans that look like a personal name; the cue patterns add names introduced by words
that only ever precede a person ("patient", "Dear", "I'm", "Dr.", "my roommate").
Public figures are recognised by how a name is used (biography, works, role titles, eponyms),
not by a list of famous names, so unseen celebrities are handled the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from typing import Any

from .engine import Span
from .person_rules import (
    ACTION_ITEM,
    CAP_RUN,
    COMMON_CAPS,
    CORPORATE,
    CUE,
    FIRST_WORD_VERBS,
    LO,
    LOWER_CANDIDATE,
    LOWER_CUE,
    MESSAGE_TO,
    NAME_LINE,
    NAME_PARTICLES,
    NOT_NAME_WORDS,
    NOT_PERSON_LABELS,
    PAIR_SUBJECT,
    PERSONA_CONTEXT,
    POSSESSIVE,
    SPEAKER,
    STRONG_CUE,
    SUBJECT_VERB,
    UP,
    VOCATIVE,
    fold,
    looks_like_name,
)


class PersonDetector:
    """PERSON spans for private individuals: Presidio spaCy NER + name cues, filtered."""

    name = "person"
    categories = frozenset({"PII"})
    needs_doc = True

    def __init__(self, analyzer: Any, names: dict[str, list[str]] | None = None):
        self._analyzer = analyzer
        # Compared without accents: "Siobhán" is written "Siobhan" as often as not.
        self._first = frozenset(fold(n) for n in names["first"]) if names else frozenset()
        self._last = frozenset(fold(n) for n in names["last"]) if names else frozenset()

    def _gazetteer(self, text: str) -> list[tuple[int, int]]:
        """Full names whose first word is a known given name and last word a known family
        name (Faker's lists for every Latin-script locale): names from many cultures that the
        small English NER model misses ("Özdal Sezer", "Radu Nemeș")."""
        out = []
        for run in CAP_RUN.finditer(text):
            toks = [(m.group(), run.start() + m.start()) for m in re.finditer(r"\S+", run.group())]
            i = 0
            while i < len(toks) - 1:
                word, s = toks[i]
                if fold(word) in self._first and word.lower() not in FIRST_WORD_VERBS:
                    # "Bjorn van der Laarse", "Oliver da Rocha": particles mark a family name.
                    j = i + 1
                    while j < len(toks) - 1 and toks[j][0] in NAME_PARTICLES:
                        j += 1
                    if j > i + 1 and toks[j][0][:1].isupper():
                        out.append((s, toks[j][1] + len(toks[j][0])))
                        i = j + 1
                        continue
                    for j in range(min(len(toks) - 1, i + 3), i, -1):
                        last, ls = toks[j]
                        if fold(last) in self._last:
                            out.append((s, ls + len(last)))
                            i = j
                            break
                i += 1
        return out

    def _ner(self, text: str, doc: Any) -> list[tuple[int, int, float]]:
        if doc is None or self._analyzer is None:
            return []
        from presidio_analyzer.nlp_engine import NlpArtifacts

        ents = [e for e in doc.ents if e.label_ in ("PERSON", "PER")]
        if not ents:
            return []
        artifacts = NlpArtifacts(
            entities=ents,
            tokens=doc,
            tokens_indices=[t.idx for t in doc],
            lemmas=[t.lower_ for t in doc],
            nlp_engine=self._analyzer.nlp_engine,
            language="en",
        )
        results = self._analyzer.analyze(
            text=text, language="en", entities=["PERSON"], nlp_artifacts=artifacts, score_threshold=0.0
        )
        return [(r.start, r.end, r.score) for r in results if r.entity_type == "PERSON"]

    def _lowercase_names(self, text: str) -> list[tuple[int, int]]:
        """Names in a prompt typed without capitals, confirmed by NER on a capitalised copy."""
        if self._analyzer is None or any(c.isupper() for c in text):
            return []
        cands = [m for m in LOWER_CANDIDATE.finditer(text)
                 if m.group(1) not in COMMON_CAPS and m.group(1) not in NOT_NAME_WORDS]
        if not cands:
            return []
        chars = list(text)
        for m in cands:
            chars[m.start(1)] = chars[m.start(1)].upper()
        doc = self._analyzer.nlp_engine.nlp["en"]("".join(chars))
        people = [(e.start_char, e.end_char) for e in doc.ents if e.label_ in ("PERSON", "PER")]
        return [m.span(1) for m in cands if any(a <= m.start(1) < b for a, b in people)]

    def detect(self, text: str, doc: Any | None) -> list[Span]:
        """PERSON spans, gathered from the strongest evidence to the weakest: where two
        gatherers claim overlapping text, the first one's span stands."""
        found = _Found(text)
        for s, e, score, rec in chain(
            _cue_candidates(text),
            self._gazetteer_candidates(text, doc),
            ((m.start(1), m.end(1), 0.7, "person-lowercase-cue") for m in LOWER_CUE.finditer(text)
             if m.group(1).lower() not in COMMON_CAPS | NOT_NAME_WORDS),
            ((a, b, 0.6, "person-lowercase-ner") for a, b in self._lowercase_names(text)),
            self._ner_candidates(text, doc),
        ):
            found.add(s, e, score, rec)
        return found.spans

    def _gazetteer_candidates(self, text: str, doc: Any | None) -> Iterator[tuple[int, int, float, str]]:
        # A firm named after people ("Morgan Stanley raised its target"): spaCy reads it as an
        # organisation and the sentence treats it as one. Either alone is too weak: the small
        # model calls many non-English personal names ORG.
        orgs = [(e.start_char, e.end_char) for e in doc.ents if e.label_ in NOT_PERSON_LABELS] if doc is not None else []
        for a, b in self._gazetteer(text):
            if any(a < e and s < b for s, e in orgs) and CORPORATE.search(text[max(0, a - 60):b + 60]):
                continue
            core = " ".join(w for w in text[a:b].split() if w not in NAME_PARTICLES)
            if looks_like_name(core, text, a, single_ok=False):
                yield a, b, 0.8, "person-gazetteer"

    def _ner_candidates(self, text: str, doc: Any | None) -> Iterator[tuple[int, int, float, str]]:
        found = self._ner(text, doc)
        persona = bool(found) and bool(PERSONA_CONTEXT.search(text))
        for s, e, score in found:
            val = text[s:e].strip()
            val = re.sub(r"(?:'s|’s|')$", "", val)
            s, val = _extend_left(text, s, val)
            before = text[max(0, s - 30):s]
            strong = bool(STRONG_CUE.search(before))
            subject = " " not in val and bool(SUBJECT_VERB.match(text[s + len(val):s + len(val) + 14]))
            single_ok = strong or (
                (_is_single_name_ok(text, s, e) or subject) and not persona and not text[s + len(val):s + len(val) + 1] == ":"
            )
            if looks_like_name(val, text, s, single_ok=single_ok):
                yield s, s + len(val), score, "presidio-spacy"


class _Found:
    """The spans kept so far: trimmed of what NER keeps around a name, first claim wins."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._seen: list[tuple[int, int]] = []
        self.spans: list[Span] = []

    def add(self, s: int, e: int, score: float, rec: str) -> None:
        text = self._text
        # Trim possessive / trailing punctuation that NER keeps.
        m = re.search(r"(?:'s|’s|')$", text[s:e])
        if m:
            e -= len(m.group())
        while e > s and not text[e - 1].isalpha():
            e -= 1
        if e <= s or any(s < b and a < e for a, b in self._seen):
            return
        self._seen.append((s, e))
        self.spans.append(Span("PERSON", "PII", s, e, score, rec))


def _cue_candidates(text: str) -> Iterator[tuple[int, int, float, str]]:
    """Names introduced by words that only ever precede a person, in order of trust."""
    for m in CUE.finditer(text):
        words = m.group(1).split()
        # Drop trailing words that are clearly not part of the name.
        while words and words[-1].lower() in COMMON_CAPS | NOT_NAME_WORDS:
            words.pop()
        if not words:
            continue
        val = " ".join(words)
        strong = bool(STRONG_CUE.search(text[max(0, m.start(1) - 30):m.start(1)]))
        if looks_like_name(val, text, m.start(1), single_ok=strong) and (len(words) >= 2 or strong):
            yield m.start(1), m.start(1) + len(val), 0.8, "person-cue"
    for rx, score, rec, single in (
        (POSSESSIVE, 0.75, "person-possessive", True),
        (VOCATIVE, 0.7, "person-vocative", True),
        (MESSAGE_TO, 0.6, "person-message-to", True),
        (NAME_LINE, 0.6, "person-name-line", False),
    ):
        for m in rx.finditer(text):
            if looks_like_name(m.group(1), text, m.start(1), single_ok=single):
                yield m.start(1), m.end(1), score, rec
    for m in SPEAKER.finditer(text):
        val = m.group(1)
        if looks_like_name(val, text, m.start(1), single_ok=True) and val.lower() not in COMMON_CAPS:
            yield m.start(1), m.end(1), 0.6, "person-speaker"
    for rx in (PAIR_SUBJECT, ACTION_ITEM):
        for m in rx.finditer(text):
            for g in range(1, rx.groups + 1):
                if looks_like_name(m.group(g), text, m.start(g), single_ok=True):
                    yield m.start(g), m.end(g), 0.6, "person-subject"


def _extend_left(text: str, s: int, val: str) -> tuple[int, str]:
    """Grow an NER name leftwards over one capitalised given name that NER left out
    ("Priya Raghunathan" tagged as just "Raghunathan")."""
    m = re.search(rf"(?:^|(?<=[\s(\"']))([{UP}][{LO}]+) $", text[max(0, s - 25):s])
    if not m:
        return s, val
    word = m.group(1)
    low = word.lower()
    if low in COMMON_CAPS or low in NOT_NAME_WORDS or low in FIRST_WORD_VERBS:
        return s, val
    return s - len(word) - 1, f"{word} {val}"


def _is_single_name_ok(text: str, s: int, e: int) -> bool:
    # A lone capitalised word is a name when it is not the first word of a sentence.
    prefix = text[max(0, s - 3):s]
    return bool(prefix) and not re.search(r"(?:^|[.!?:\n\"]\s*)$", text[:s][-3:] or "^")
