"""Affinity of a juror for a proposal, in [0, 1]: the input of reviewer assignment.

Three components, each in [0, 1], combined as a weighted mean (see REFERENCES.md, "Reviewer
assignment"):

* **topics** — the share of the proposal's topics the juror knows, ``|P⁺ ∩ J⁺| / |P⁺|``, where
  ``P⁺`` and ``J⁺`` are the proposal's and the juror's topics together with their parents (the
  clusters above sub-topics, :func:`with_parents`). So a juror whose expertise is a cluster knows
  part of a proposal on one of its sub-topics (the cluster, not the sub-topic itself), a juror on
  a sub-topic knows a proposal on its cluster, and the same sub-topic on both sides scores 1.
  Sibling sub-topics share their cluster, so they match in part too. 0 when the proposal has no
  topics.
* **bids** — what the juror said about reviewing the proposal (:data:`BID_SCORES`): eager 1.0,
  willing 0.75, neutral 0.5, not willing 0.0; no bid counts as neutral (0.5), so a juror who did
  not bid is neither favoured nor avoided.
* **text** — cosine similarity of TF-IDF vectors of the proposal's text (title and abstract) and
  the juror's text (expertise and topic names). The vectoriser (sublinear tf, English stop words)
  is fitted on all proposal and juror texts together, so words common to the whole competition
  weigh little. An empty text scores 0. No model is downloaded.

``total = (w_topics · topics + w_bids · bids + w_text · text) / (w_topics + w_bids + w_text)``,
clipped to [0, 1]. :func:`weights_for` drops the bid weight when bidding is off.

:class:`Affinities` fits once and then gives the scores as :class:`PairArrays` over every pair
(:meth:`Affinities.pairs`), as blocks of rows for large instances (:meth:`Affinities.rows`, a
:class:`~competition.core.assignment.ScoreRows`), or explained for one pair
(:meth:`Affinities.explain`, for "why this juror" on the officer's page). All three run the same
code, so an explanation shows exactly the score the assignment used.

Determinism: proposals and jurors are put in id order first, so the same input in any order gives
the same scores, bit for bit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, TypeVar

import numpy as np
from numpy.typing import NDArray

from competition.core.assignment import FloatArray, IntArray, PairArrays

log = logging.getLogger(__name__)

# What a bid says, as a score; no bid scores NO_BID_SCORE.
BID_SCORES: Final[Mapping[str, float]] = MappingProxyType(
    {"eager": 1.0, "willing": 0.75, "neutral": 0.5, "not_willing": 0.0}
)
NO_BID_SCORE: Final = 0.5
# Words shown in an explanation.
_SHARED_TERMS = 5

_Item = TypeVar("_Item", "ProposalText", "JurorText")


# --- input -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalText:
    id: int
    topic_ids: frozenset[int]
    # Title and abstract.
    text: str


@dataclass(frozen=True)
class JurorText:
    id: int
    topic_ids: frozenset[int]
    # Expertise text and the names of the juror's topics.
    text: str


@dataclass(frozen=True)
class Weights:
    """Relative weights of the components; only their ratios matter. Topics weigh most because
    officers curate them; text breaks ties among jurors with the same topics."""

    topics: float = 0.4
    bids: float = 0.3
    text: float = 0.3

    def __post_init__(self) -> None:
        values = (self.topics, self.bids, self.text)
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise ValueError(f"weights must be finite and not negative, got {values}")
        if sum(values) <= 0:
            raise ValueError("at least one weight must be positive")


DEFAULT_WEIGHTS: Final = Weights()


def weights_for(*, bidding: bool, base: Weights = DEFAULT_WEIGHTS) -> Weights:
    """The weights for a stage, scaled to sum to 1. Without bidding the bid weight is 0 and the
    topic and text weights keep their ratio (every juror would score neutral on bids anyway)."""
    if bidding:
        s = base.topics + base.bids + base.text
        return Weights(topics=base.topics / s, bids=base.bids / s, text=base.text / s)
    rest = base.topics + base.text
    if rest <= 0:
        raise ValueError("without bidding, topics or text needs a positive weight")
    return Weights(topics=base.topics / rest, bids=0.0, text=base.text / rest)


# --- output ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breakdown:
    """Why a juror scores what they score for a proposal."""

    proposal_id: int
    juror_id: int
    topics: float
    bids: float
    text: float
    total: float
    weights: Weights
    # Topics of the proposal the juror knows, with their parents (:func:`with_parents`): a
    # cluster here may be the parent of the proposal's or the juror's sub-topic.
    shared_topic_ids: frozenset[int]
    # The juror's bid, or None without one.
    bid: str | None
    # Words contributing most to the text similarity, strongest first.
    shared_terms: tuple[str, ...]


class Affinities:
    """Affinities of every (proposal, juror) pair, fitted once from texts, topics and bids.

    Read-only after construction, so :meth:`rows` may be called from several threads at once.
    Bids for proposals or jurors not given are ignored (a stage's bids may name withdrawn
    proposals); an unknown bid level raises ``ValueError``, as do duplicate ids.
    """

    def __init__(
        self,
        proposals: Iterable[ProposalText],
        jurors: Iterable[JurorText],
        bids: Mapping[tuple[int, int], str] | None = None,
        *,
        weights: Weights = DEFAULT_WEIGHTS,
        topic_parents: Mapping[int, int] | None = None,
    ) -> None:
        self.proposals: tuple[ProposalText, ...] = _by_id(proposals, "proposal")
        self.jurors: tuple[JurorText, ...] = _by_id(jurors, "juror")
        self.weights = weights
        parents = topic_parents or {}
        # Topics with their parents: what the topic share compares.
        self._topic_sets_p = [with_parents(p.topic_ids, parents) for p in self.proposals]
        self._topic_sets_j = [with_parents(j.topic_ids, parents) for j in self.jurors]
        self.proposal_ids: IntArray = np.array([p.id for p in self.proposals], dtype=np.int64)
        self.juror_ids: IntArray = np.array([j.id for j in self.jurors], dtype=np.int64)
        P, J = len(self.proposals), len(self.jurors)

        topic_ids = sorted(set[int]().union(*self._topic_sets_p, *self._topic_sets_j))
        column = {t: i for i, t in enumerate(topic_ids)}
        self._topics_p = _incidence(self._topic_sets_p, column)
        self._topics_jt = _incidence(self._topic_sets_j, column).T.tocsr()
        self._topic_counts: FloatArray = np.array(
            [len(s) for s in self._topic_sets_p], dtype=np.float64
        )

        texts = [p.text for p in self.proposals] + [j.text for j in self.jurors]
        tfidf, self._terms = _tfidf(texts)
        self._text_p = tfidf[:P]
        self._text_j = tfidf[P:]
        self._text_jt = self._text_j.T.tocsr()

        self.bids: Mapping[tuple[int, int], str] = MappingProxyType(self._known_bids(bids or {}))
        rows = np.searchsorted(self.proposal_ids, np.array([p for p, _ in self.bids], np.int64))
        cols = np.searchsorted(self.juror_ids, np.array([j for _, j in self.bids], np.int64))
        # Stored as the difference to no bid, so "neutral" and no bid are both absent.
        offsets = np.array([BID_SCORES[b] - NO_BID_SCORE for b in self.bids.values()], np.float64)
        self._bid_offsets = _sparse().csr_matrix(
            (offsets, (rows, cols)), shape=(P, J), dtype=np.float64
        )
        self._bid_offsets.eliminate_zeros()
        for m in (self._topics_p, self._topics_jt, self._text_p, self._text_jt, self._bid_offsets):
            m.sort_indices()
        log.debug("affinities fitted: %d proposals, %d jurors, %d terms", P, J, len(self._terms))

    def _known_bids(self, bids: Mapping[tuple[int, int], str]) -> dict[tuple[int, int], str]:
        known_p, known_j = set(self.proposal_ids.tolist()), set(self.juror_ids.tolist())
        out: dict[tuple[int, int], str] = {}
        for (p, j), level in sorted(bids.items()):
            if level not in BID_SCORES:
                raise ValueError(f"unknown bid {level!r} for proposal {p}, juror {j}")
            if p in known_p and j in known_j:
                out[int(p), int(j)] = str(level)
        return out

    # --- scores --------------------------------------------------------------------------------

    def pairs(self) -> PairArrays:
        """Every (proposal, juror) pair with its total score, ids ascending, proposal-major."""
        P, J = len(self.proposal_ids), len(self.juror_ids)
        scores = self.rows(self.proposal_ids, self.juror_ids)
        return PairArrays(
            proposal_ids=np.repeat(self.proposal_ids, J),
            juror_ids=np.tile(self.juror_ids, P),
            scores=scores.reshape(-1),
        )

    def rows(self, proposal_ids: IntArray, juror_ids: IntArray) -> FloatArray:
        """Total scores as a (len(proposal_ids), len(juror_ids)) matrix; usable directly as the
        assignment's ``ScoreRows`` for instances too large for :meth:`pairs`."""
        topics, bids, text = self.components(proposal_ids, juror_ids)
        return self._total(topics, bids, text)

    def components(
        self, proposal_ids: IntArray, juror_ids: IntArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(topics, bids, text) matrices for the given ids, each (proposals × jurors)."""
        pi = _positions(self.proposal_ids, proposal_ids, "proposal")
        ji = _positions(self.juror_ids, juror_ids, "juror")
        return self._topics(pi, ji), self._bids(pi, ji), self._text(pi, ji)

    def explain(self, proposal_id: int, juror_id: int) -> Breakdown:
        """The components, weights and total of one pair, with the shared topics, the bid and the
        words the two texts share most. ``KeyError`` for an unknown id."""
        p_ids = np.array([proposal_id], dtype=np.int64)
        j_ids = np.array([juror_id], dtype=np.int64)
        try:
            topics, bids, text = self.components(p_ids, j_ids)
        except ValueError as e:
            raise KeyError(str(e)) from None
        pi = int(np.searchsorted(self.proposal_ids, proposal_id))
        ji = int(np.searchsorted(self.juror_ids, juror_id))
        return Breakdown(
            proposal_id=int(proposal_id),
            juror_id=int(juror_id),
            topics=float(topics[0, 0]),
            bids=float(bids[0, 0]),
            text=float(text[0, 0]),
            total=float(self._total(topics, bids, text)[0, 0]),
            weights=self.weights,
            shared_topic_ids=self._topic_sets_p[pi] & self._topic_sets_j[ji],
            bid=self.bids.get((int(proposal_id), int(juror_id))),
            shared_terms=self._shared_terms(pi, ji),
        )

    # --- components ----------------------------------------------------------------------------

    def _topics(self, pi: IntArray, ji: IntArray) -> FloatArray:
        shared = _dense(_rows(self._topics_p, pi) @ _cols(self._topics_jt, ji))
        counts = self._topic_counts[pi][:, None]
        return np.divide(shared, counts, out=np.zeros_like(shared), where=counts > 0)

    def _bids(self, pi: IntArray, ji: IntArray) -> FloatArray:
        out = _dense(_cols(_rows(self._bid_offsets, pi), ji))
        out += NO_BID_SCORE
        return out

    def _text(self, pi: IntArray, ji: IntArray) -> FloatArray:
        # Rows are L2-normalised, so the product is the cosine; rounding can pass 1 slightly.
        out = _dense(_rows(self._text_p, pi) @ _cols(self._text_jt, ji))
        return np.clip(out, 0.0, 1.0, out=out)

    def _total(self, topics: FloatArray, bids: FloatArray, text: FloatArray) -> FloatArray:
        w = self.weights
        s = w.topics + w.bids + w.text
        out = topics * (w.topics / s)
        out += bids * (w.bids / s)
        out += text * (w.text / s)
        return np.clip(out, 0.0, 1.0, out=out)

    def _shared_terms(self, pi: int, ji: int) -> tuple[str, ...]:
        both = self._text_p[pi].multiply(self._text_j[ji]).tocsr()
        both.eliminate_zeros()
        weight = np.asarray(both.data, dtype=np.float64)
        term = np.asarray(both.indices, dtype=np.int64)
        # Strongest first; ties in alphabetical order (the vocabulary is sorted).
        order = np.lexsort((term, -weight))[:_SHARED_TERMS]
        return tuple(str(self._terms[t]) for t in term[order])


def affinity_pairs(
    proposals: Iterable[ProposalText],
    jurors: Iterable[JurorText],
    bids: Mapping[tuple[int, int], str] | None = None,
    *,
    weights: Weights = DEFAULT_WEIGHTS,
    topic_parents: Mapping[int, int] | None = None,
) -> PairArrays:
    """Scores of every (proposal, juror) pair, for :class:`~competition.core.assignment.Problem`.
    Keep an :class:`Affinities` instead when pairs will also be explained."""
    return Affinities(proposals, jurors, bids, weights=weights, topic_parents=topic_parents).pairs()


def with_parents(topic_ids: Iterable[int], parents: Mapping[int, int]) -> frozenset[int]:
    """``topic_ids`` and every topic above them: ``parents`` maps a sub-topic's id to its
    parent's (topics without a parent are absent). A loop in ``parents`` ends the walk."""
    out = set[int]()
    for topic in topic_ids:
        while topic not in out:
            out.add(topic)
            parent = parents.get(topic)
            if parent is None:
                break
            topic = parent
    return frozenset(out)


# --- helpers -----------------------------------------------------------------------------------


def _by_id(items: Iterable[_Item], what: str) -> tuple[_Item, ...]:
    out = tuple(sorted(items, key=lambda x: x.id))
    for a, b in zip(out, out[1:], strict=False):
        if a.id == b.id:
            raise ValueError(f"{what} {a.id} is listed twice")
    return out


def _incidence(sets: list[frozenset[int]], column: Mapping[int, int]) -> Any:
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    cols = np.array([column[t] for s in sets for t in sorted(s)], dtype=np.int64)
    data = np.ones(cols.size, dtype=np.float64)
    return _sparse().csr_matrix((data, (rows, cols)), shape=(len(sets), len(column)))


def _tfidf(texts: list[str]) -> tuple[Any, NDArray[np.str_]]:
    # Imported here: scikit-learn takes over a second to load, and only the workers that fit
    # affinities need it, not every web process at start-up.
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]

    vectorizer = TfidfVectorizer(
        sublinear_tf=True, stop_words="english", strip_accents="unicode", dtype=np.float64
    )
    try:
        matrix = vectorizer.fit_transform(texts).tocsr()
    except ValueError as e:
        # Raised when no text has a word beyond stop words: then no pair shares any.
        if "empty vocabulary" not in str(e):
            raise
        return _sparse().csr_matrix((len(texts), 0), dtype=np.float64), np.array([], dtype=np.str_)
    return matrix, np.asarray(vectorizer.get_feature_names_out(), dtype=np.str_)


def _sparse() -> Any:
    # Imported on first use, like scikit-learn: only the processes that fit affinities need it.
    import scipy.sparse as sp  # type: ignore[import-untyped]

    return sp


def _positions(sorted_ids: IntArray, ids: IntArray, what: str) -> IntArray:
    ids = np.asarray(ids, dtype=np.int64)
    pos = np.searchsorted(sorted_ids, ids)
    found = pos < sorted_ids.size
    found[found] = sorted_ids[pos[found]] == ids[found]
    if not found.all():
        raise ValueError(f"unknown {what} id {int(ids[~found][0])}")
    return pos.astype(np.int64)


def _full(pos: IntArray, n: int) -> bool:
    return pos.size == n and bool((pos == np.arange(n)).all())


def _rows(m: Any, pos: IntArray) -> Any:
    return m if _full(pos, m.shape[0]) else m[pos]


def _cols(m: Any, pos: IntArray) -> Any:
    return m if _full(pos, m.shape[1]) else m[:, pos]


def _dense(m: Any) -> FloatArray:
    return np.asarray(m.toarray(), dtype=np.float64)
