"""What spaCy's NER is shown: the prompt with everything that cannot matter to a name blanked.

Blanking replaces characters by spaces (newlines kept), so offsets into the view are offsets
into the prompt. spaCy's NER costs time in proportion to the tokens it reads, and a run of
spaces is one token, so the view is cut twice:

1. lines (long lines: sentences) with no hint of a name are blanked whole;
2. within what is left, words more than ``CONTEXT_WORDS`` words away from any *anchor* are
   blanked. An anchor is a word that could be part of a name the person detector keeps: it
   has a capital letter and is not one of the common words its filter rejects
   (``COMMON_CAPS``, ``NOT_NAME_WORDS``: "The", "Please", "Monday", "Slack"...). Every word of
   an NER name the detector keeps is an anchor, and an organisation only matters where it
   overlaps a gazetteer name, whose words are anchors too.

Why 8 words keep NER's answer about an anchor: the model (``en_core_web_sm``) embeds each
token with four window-1 CNN layers, so a token's vector sees 4 tokens either side; its
transition system decides at each token from the vectors of that token, the one before it and
the first token of the open entity. The decisions from 4 tokens before an anchor to 4 after it
therefore read only tokens within 8 of it, all kept (a word is at least one token). What can
still differ is an entity that would run across that edge, 5 or more tokens of non-anchor
words into a name: the equality check in ``tests/streams/classify/test_ner_path.py`` and the
old-vs-new comparison in the issue-18 note found none.
"""

from __future__ import annotations

import re

from .person_rules import COMMON_CAPS, NOT_NAME_WORDS

# A line is worth sending to NER when it has two adjacent capitalised words or a capitalised
# word right after a person cue. Blanking the other lines (same length, so offsets hold)
# cuts the token count spaCy has to process several-fold on long prompts.
_NAME_HINT = re.compile(
    r"\b[A-Z][a-z]+(?:['-][A-Za-z]+)?\s+[A-Z][a-z]+"
    r"|\b(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof)\.?\s+[A-Z][a-z]+"
    r"|\b(?:my|our|his|her|their)\s+(?:kid|son|daughter|wife|husband|mom|dad|mother|father|"
    r"brother|sister|friend|colleague|neighbou?r|partner|boss|tenant|patient|client)\s+[A-Z]"
    # A capitalised word after a word that typically precedes a person ("with Kwame",
    # "that Jessica", "tell Grace") ...
    r"|\b(?:with|for|that|to|and|tell|ask|asked|told|from|by|cc|meet|call|email|text|invite|thank|remind|ping|pay|"
    r"welcome|roommate|coworker|manager|babysitter|nanny|tutor|teacher|cousin|aunt|uncle|fianc[ée]e?|girlfriend|boyfriend)"
    r",?\s+[A-ZÀ-Þ][a-zß-ÿ]+"
    # ... or a sentence-initial word used as the subject of a person's verb ("Lisa is ...").
    r"|(?:^|[.!?;]\s+)(?!(?:Both|This|That|These|Those|There|Here|It|Its|They|We|You|He|She|I|Each|All|Some|Any|"
    r"Most|Many|Few|None|Our|My|Your|Their|His|Her|The|What|Which|Who|How|Why|When|Where|Everything|Nothing|"
    r"Everyone|Someone|Anyone|Nobody|One|Other|Others|Another|Such|Neither|Either)\b)"
    r"[A-ZÀ-Þ][a-zß-ÿ]+(?:\s+and\s+[A-Z][a-z]+)?\s+(?:is|was|are|said|asked|told|has|had|wants|needs|"
    r"will|owns|reviews|handles|leads|to|keeps|just|never|called|emailed|mentioned|says|thinks|wrote|replied|left|joined|"
    r"can|could|would|should)\b"
)
_LINE = re.compile(r"[^\n]+")


_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
# below this a line is cheap enough to run whole (and keeps its full context)
_SPLIT_LINES_ABOVE = 240


# Words either side of an anchor that NER is shown unchanged (see the module docstring).
CONTEXT_WORDS = 8
_WORD = re.compile(r"\S+")
# Punctuation around a word and a possessive: "(Maria", "Lopez,", "Priya's".
_EDGES = re.compile(r"^\W+|(?:['’]s)?\W*$")
_NOT_ANCHORS = COMMON_CAPS | NOT_NAME_WORDS


def is_anchor(word: str) -> bool:
    """Could ``word`` (a whitespace-separated word of the prompt) be part of a kept name?"""
    if word.lower() == word:  # no capital letter (the cheap test first: most words)
        return False
    return _EDGES.sub("", word).lower() not in _NOT_ANCHORS


def _hinted(text: str) -> list[tuple[int, int]]:
    """The lines (long lines: the sentences) of ``text`` that hint at a name."""
    keep: list[tuple[int, int]] = []
    for m in _LINE.finditer(text):
        line = m.group()
        if not _NAME_HINT.search(line):
            continue
        if len(line) <= _SPLIT_LINES_ABOVE:
            keep.append(m.span())
            continue
        base = m.start()
        for sm in _SENTENCE.finditer(line):
            if _NAME_HINT.search(sm.group()):
                keep.append((base + sm.start(), base + sm.end()))
    return keep


def _near_anchors(view: str) -> list[tuple[int, int]]:
    """The stretches of ``view`` within ``CONTEXT_WORDS`` words of an anchor.

    Counted over the whole view, not per kept line or sentence: NER reads a kept sentence
    together with the kept sentence next to it ("Hi Dr." before "Reyes, this is ..."), so that
    context must stay too.
    """
    words = [m.span() for m in _WORD.finditer(view)]
    anchors = [i for i, (s, e) in enumerate(words) if is_anchor(view[s:e])]
    out: list[tuple[int, int]] = []
    for i in anchors:
        lo, hi = max(0, i - CONTEXT_WORDS), min(len(words) - 1, i + CONTEXT_WORDS)
        s, e = words[lo][0], words[hi][1]
        if out and s <= out[-1][1] + 1:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _blank_except(text: str, keep: list[tuple[int, int]]) -> str:
    """``text`` with every character outside ``keep`` but newlines turned into a space."""
    if keep == [(0, len(text))]:
        return text
    chars = [c if c == "\n" else " " for c in text]
    for s, e in keep:
        chars[s:e] = text[s:e]
    return "".join(chars)


def ner_view(text: str) -> str | None:
    """``text`` with what cannot matter to a name blanked out, or None if nothing can."""
    hinted = _hinted(text)
    if not hinted:
        return None
    view = _blank_except(text, hinted)
    near = _near_anchors(view)
    return _blank_except(view, near) if near else None
