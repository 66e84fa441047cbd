"""Affinities from topics, bids and texts, on plain data."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from competition.core.affinity import (
    BID_SCORES,
    DEFAULT_WEIGHTS,
    NO_BID_SCORE,
    Affinities,
    JurorText,
    ProposalText,
    Weights,
    affinity_pairs,
    weights_for,
    with_parents,
)
from competition.core.assignment import Juror, Problem, Proposal, solve


def proposal(id: int, topics: set[int] | None = None, text: str = "") -> ProposalText:
    return ProposalText(id=id, topic_ids=frozenset(topics or ()), text=text)


def juror(id: int, topics: set[int] | None = None, text: str = "") -> JurorText:
    return JurorText(id=id, topic_ids=frozenset(topics or ()), text=text)


def score_map(affinities: Affinities) -> dict[tuple[int, int], float]:
    pairs = affinities.pairs()
    assert pairs.scores is not None
    return {
        (int(p), int(j)): float(s)
        for p, j, s in zip(pairs.proposal_ids, pairs.juror_ids, pairs.scores, strict=True)
    }


WORDS = (
    "graphene battery anode lithium neural network protein folding climate ocean "
    "glacier soil microbiome vaccine quantum sensor robot grammar dialect"
).split()


def sample_instance(rng: random.Random, P: int, J: int):
    def text(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    proposals = [
        proposal(10 + 3 * i, set(rng.sample(range(8), rng.randint(0, 3))), text(12))
        for i in range(P)
    ]
    jurors = [
        juror(500 - 7 * i, set(rng.sample(range(8), rng.randint(0, 4))), text(6)) for i in range(J)
    ]
    bids = {
        (p.id, j.id): rng.choice(sorted(BID_SCORES))
        for p in proposals
        for j in jurors
        if rng.random() < 0.3
    }
    return proposals, jurors, bids


# --- topics ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proposal_topics", "juror_topics", "share"),
    [
        ({1, 2, 3}, {2, 3, 9}, 2 / 3),
        ({1, 2, 3}, {1, 2, 3, 4}, 1.0),
        ({1, 2, 3}, {7}, 0.0),
        ({1, 2, 3}, set(), 0.0),
        ({5}, {5}, 1.0),
        ({1, 2, 3, 4}, {4}, 0.25),
        (set(), {1, 2}, 0.0),
    ],
)
def test_topic_share_is_the_part_of_the_proposals_topics_the_juror_knows(
    proposal_topics, juror_topics, share
):
    aff = Affinities([proposal(1, proposal_topics)], [juror(2, juror_topics)])
    why = aff.explain(1, 2)
    assert why.topics == share
    assert why.shared_topic_ids == frozenset(proposal_topics & juror_topics)


def test_topic_share_is_per_pair_in_a_matrix():
    aff = Affinities(
        [proposal(1, {1, 2}), proposal(2, {3}), proposal(3)],
        [juror(10, {1}), juror(20, {1, 2, 3})],
    )
    topics, _, _ = aff.components(aff.proposal_ids, aff.juror_ids)
    assert topics.tolist() == [[0.5, 1.0], [0.0, 1.0], [0.0, 0.0]]


# --- sub-topics and their clusters ----------------------------------------------------------

# Photonics (1) with its sub-topics Light sources (11) and Lasers (12); Batteries (2) alone.
PARENTS = {11: 1, 12: 1}


@pytest.mark.parametrize(
    ("proposal_topics", "juror_topics", "share", "shared"),
    [
        # A juror on the cluster knows the cluster above the proposal's sub-topic: half of it.
        ({11}, {1}, 0.5, {1}),
        # A juror on a sub-topic knows a proposal on its cluster.
        ({1}, {11}, 1.0, {1}),
        # The same sub-topic on both sides counts fully, more than the cluster alone.
        ({11}, {11}, 1.0, {1, 11}),
        # Sibling sub-topics share their cluster.
        ({11}, {12}, 0.5, {1}),
        # Another cluster shares nothing.
        ({11}, {2}, 0.0, set()),
        ({1, 2}, {12}, 0.5, {1}),
    ],
)
def test_a_cluster_counts_for_its_sub_topics_and_a_sub_topic_for_its_cluster(
    proposal_topics, juror_topics, share, shared
):
    aff = Affinities(
        [proposal(1, proposal_topics)], [juror(2, juror_topics)], topic_parents=PARENTS
    )
    why = aff.explain(1, 2)
    assert why.topics == share
    assert why.shared_topic_ids == frozenset(shared)
    topics, _, _ = aff.components(aff.proposal_ids, aff.juror_ids)
    assert topics.tolist() == [[share]]


def test_a_juror_on_the_cluster_outranks_one_on_another_cluster_for_a_sub_topic_proposal():
    scores = score_map(
        Affinities([proposal(1, {11})], [juror(2, {1}), juror(3, {2})], topic_parents=PARENTS)
    )
    assert scores[1, 2] > scores[1, 3]


def test_with_parents_adds_every_topic_above_and_survives_a_loop():
    assert with_parents({11, 2}, PARENTS) == {1, 2, 11}
    assert with_parents({21}, {21: 20, 20: 21}) == {20, 21}
    assert with_parents(set(), PARENTS) == frozenset()


# --- bids --------------------------------------------------------------------------------------


def test_bid_scores_are_documented_values():
    assert dict(BID_SCORES) == {"eager": 1.0, "willing": 0.75, "neutral": 0.5, "not_willing": 0.0}
    assert NO_BID_SCORE == 0.5


@pytest.mark.parametrize(
    ("bid", "score"),
    [("eager", 1.0), ("willing", 0.75), ("neutral", 0.5), ("not_willing", 0.0), (None, 0.5)],
)
def test_bid_maps_to_its_score(bid, score):
    bids = {} if bid is None else {(1, 2): bid}
    why = Affinities([proposal(1)], [juror(2), juror(3)], bids).explain(1, 2)
    assert why.bids == score
    assert why.bid == bid


def test_bid_of_one_pair_does_not_touch_other_pairs():
    aff = Affinities([proposal(1), proposal(2)], [juror(7), juror(8)], {(2, 7): "eager"})
    _, bids, _ = aff.components(aff.proposal_ids, aff.juror_ids)
    assert bids.tolist() == [[0.5, 0.5], [1.0, 0.5]]


def test_unknown_bid_level_is_refused():
    with pytest.raises(ValueError, match="unknown bid"):
        Affinities([proposal(1)], [juror(2)], {(1, 2): "keen"})


def test_bids_on_proposals_or_jurors_not_given_are_ignored():
    aff = Affinities([proposal(1)], [juror(2)], {(1, 99): "eager", (99, 2): "not_willing"})
    assert aff.explain(1, 2).bids == NO_BID_SCORE
    assert dict(aff.bids) == {}


# --- text --------------------------------------------------------------------------------------


def test_juror_sharing_words_scores_higher_on_text_than_one_sharing_none():
    aff = Affinities(
        [proposal(1, text="Graphene anodes for fast charging lithium batteries")],
        [
            juror(2, text="Battery materials, lithium anodes, graphene"),
            juror(3, text="Medieval manuscripts and palaeography"),
        ],
    )
    sharing, other = aff.explain(1, 2), aff.explain(1, 3)
    assert sharing.text > other.text
    assert other.text == 0.0
    assert set(sharing.shared_terms) <= {"graphene", "lithium", "anodes"}
    assert "graphene" in sharing.shared_terms


def test_identical_text_scores_one_and_empty_text_scores_zero():
    text = "Coastal erosion models under rising sea levels"
    aff = Affinities([proposal(1, text=text)], [juror(2, text=text), juror(3, text="")])
    assert aff.explain(1, 2).text == pytest.approx(1.0)
    assert aff.explain(1, 3).text == 0.0


def test_stop_words_alone_share_nothing():
    aff = Affinities([proposal(1, text="the and of")], [juror(2, text="the of and")])
    assert aff.explain(1, 2).text == 0.0


def test_common_word_weighs_less_than_a_rare_one():
    # "research" is in every text, "glacier" only in the proposal and juror 2.
    aff = Affinities(
        [proposal(1, text="research glacier research")],
        [juror(2, text="research glacier"), juror(3, text="research robot"), juror(4, text="x")],
    )
    assert aff.explain(1, 2).text > aff.explain(1, 3).text


def test_accents_do_not_separate_words():
    aff = Affinities([proposal(1, text="Förderung Überblick")], [juror(2, text="forderung")])
    assert aff.explain(1, 2).text > 0


# --- weights and total -------------------------------------------------------------------------


def test_without_bidding_bid_weight_is_zero_and_the_rest_renormalised():
    base = Weights(topics=0.4, bids=0.3, text=0.3)
    w = weights_for(bidding=False, base=base)
    assert w.bids == 0.0
    assert w.topics + w.text == pytest.approx(1.0)
    assert w.topics / w.text == pytest.approx(base.topics / base.text)


def test_with_bidding_weights_keep_their_ratios_and_sum_to_one():
    w = weights_for(bidding=True, base=Weights(topics=2, bids=1, text=1))
    assert (w.topics, w.bids, w.text) == pytest.approx((0.5, 0.25, 0.25))
    assert weights_for(bidding=True) == pytest.approx(DEFAULT_WEIGHTS)


def test_without_bidding_bids_do_not_change_the_total():
    props = [proposal(1, {1}, "soil microbiome"), proposal(2, {2}, "quantum sensor")]
    jurors = [juror(5, {1}, "soil"), juror(6, {2, 1}, "quantum")]
    w = weights_for(bidding=False)
    plain = score_map(Affinities(props, jurors, weights=w))
    bid = score_map(Affinities(props, jurors, {(1, 5): "not_willing", (2, 6): "eager"}, weights=w))
    assert plain == bid


@pytest.mark.parametrize(
    "args",
    [(-1, 1, 1), (0, 0, 0), (float("nan"), 1, 1), (1, float("inf"), 1)],
    ids=["negative", "all zero", "nan", "inf"],
)
def test_invalid_weights_are_refused(args):
    with pytest.raises(ValueError):
        Weights(*args)


def test_without_bidding_topics_or_text_must_weigh_something():
    with pytest.raises(ValueError):
        weights_for(bidding=False, base=Weights(topics=0, bids=1, text=0))


def test_total_is_the_weighted_mean_of_the_components():
    w = Weights(topics=3, bids=2, text=1)
    aff = Affinities(
        [proposal(1, {1, 2}, "ocean glacier")],
        [juror(2, {2}, "glacier dialect")],
        {(1, 2): "willing"},
        weights=w,
    )
    why = aff.explain(1, 2)
    assert why.weights == w
    assert why.total == pytest.approx((3 * 0.5 + 2 * 0.75 + 1 * why.text) / 6)


# --- output ------------------------------------------------------------------------------------


def test_pairs_are_complete_sorted_and_proposal_major():
    proposals, jurors, bids = sample_instance(random.Random(3), 5, 4)
    pairs = affinity_pairs(proposals, jurors, bids)
    p_ids = sorted(p.id for p in proposals)
    j_ids = sorted(j.id for j in jurors)
    assert pairs.proposal_ids.dtype == np.int64 and pairs.juror_ids.dtype == np.int64
    assert pairs.scores is not None and pairs.scores.dtype == np.float64
    assert list(zip(pairs.proposal_ids.tolist(), pairs.juror_ids.tolist(), strict=True)) == [
        (p, j) for p in p_ids for j in j_ids
    ]


def test_no_proposals_or_no_jurors_gives_no_pairs():
    assert len(affinity_pairs([], [juror(1, text="soil")])) == 0
    assert len(affinity_pairs([proposal(1, text="soil")], [])) == 0
    assert len(affinity_pairs([], [])) == 0


def test_duplicate_ids_are_refused():
    with pytest.raises(ValueError, match="proposal 1 is listed twice"):
        Affinities([proposal(1), proposal(1)], [juror(2)])
    with pytest.raises(ValueError, match="juror 2 is listed twice"):
        Affinities([proposal(1)], [juror(2), juror(2)])


@pytest.mark.parametrize("seed", range(5))
def test_input_order_does_not_change_the_result(seed):
    rng = random.Random(seed)
    proposals, jurors, bids = sample_instance(rng, 9, 6)
    first = affinity_pairs(proposals, jurors, bids)
    rng.shuffle(proposals)
    rng.shuffle(jurors)
    items = list(bids.items())
    rng.shuffle(items)
    second = affinity_pairs(proposals, jurors, dict(items))
    assert np.array_equal(first.proposal_ids, second.proposal_ids)
    assert np.array_equal(first.juror_ids, second.juror_ids)
    assert first.scores is not None and second.scores is not None
    assert np.array_equal(first.scores, second.scores)


@pytest.mark.parametrize("seed", range(3))
def test_explain_agrees_with_the_arrays_for_every_pair(seed):
    proposals, jurors, bids = sample_instance(random.Random(seed), 6, 5)
    aff = Affinities(proposals, jurors, bids, weights=Weights(topics=0.5, bids=0.2, text=0.3))
    for (p, j), score in score_map(aff).items():
        why = aff.explain(p, j)
        assert why.total == score
        assert why.bid == bids.get((p, j))


def test_rows_of_a_block_equal_the_same_cells_of_all_pairs():
    proposals, jurors, bids = sample_instance(random.Random(4), 7, 5)
    aff = Affinities(proposals, jurors, bids)
    full = aff.rows(aff.proposal_ids, aff.juror_ids)
    p_pick, j_pick = np.array([1, 4, 6]), np.array([0, 3])
    block = aff.rows(aff.proposal_ids[p_pick], aff.juror_ids[j_pick])
    assert np.array_equal(block, full[np.ix_(p_pick, j_pick)])


def test_explain_of_an_unknown_id_raises_key_error():
    aff = Affinities([proposal(1)], [juror(2)])
    with pytest.raises(KeyError):
        aff.explain(1, 3)
    with pytest.raises(KeyError):
        aff.explain(5, 2)


def test_assignment_is_the_same_from_pair_arrays_and_from_rows():
    proposals, jurors, bids = sample_instance(random.Random(8), 6, 4)
    aff = Affinities(proposals, jurors, bids)
    seats = [Proposal(id=p.id, seats=2) for p in proposals]
    pool = [Juror(id=j.id, max_load=3) for j in jurors]
    by_pairs = solve(Problem(proposals=seats, jurors=pool, affinity=aff.pairs()))
    by_rows = solve(Problem(proposals=seats, jurors=pool, affinity=aff.rows))
    assert by_pairs.pairs == by_rows.pairs
    assert by_pairs.total_affinity == pytest.approx(by_rows.total_affinity)


# --- properties --------------------------------------------------------------------------------

texts = st.one_of(
    st.lists(st.sampled_from(WORDS + ["the", "and"]), max_size=8).map(" ".join),
    st.text(max_size=20),
)
topic_sets = st.frozensets(st.integers(0, 5), max_size=4)
weights = (
    st.tuples(st.floats(0, 10), st.floats(0, 10), st.floats(0, 10))
    .filter(lambda ws: sum(ws) > 0)
    .map(lambda ws: Weights(*ws))
)


@st.composite
def instances(draw):
    p_ids = draw(st.lists(st.integers(-50, 50), unique=True, max_size=6))
    j_ids = draw(st.lists(st.integers(-50, 50), unique=True, max_size=5))
    proposals = [ProposalText(i, draw(topic_sets), draw(texts)) for i in p_ids]
    jurors = [JurorText(i, draw(topic_sets), draw(texts)) for i in j_ids]
    bids = draw(
        st.dictionaries(
            st.tuples(st.sampled_from(p_ids or [0]), st.sampled_from(j_ids or [0])),
            st.sampled_from(sorted(BID_SCORES)),
            max_size=10,
        )
    )
    return proposals, jurors, bids


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(), w=weights)
def test_scores_and_components_are_always_within_zero_and_one(instance, w):
    proposals, jurors, bids = instance
    aff = Affinities(proposals, jurors, bids, weights=w)
    pairs = aff.pairs()
    assert pairs.scores is not None
    assert len(pairs) == len(proposals) * len(jurors)
    assert np.all((pairs.scores >= 0) & (pairs.scores <= 1))
    for component in aff.components(aff.proposal_ids, aff.juror_ids):
        assert np.all((component >= 0) & (component <= 1))
    for p, j, score in zip(pairs.proposal_ids, pairs.juror_ids, pairs.scores, strict=True):
        assert aff.explain(int(p), int(j)).total == score
