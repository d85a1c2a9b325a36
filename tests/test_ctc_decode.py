"""CTC decoding on hand-made probability matrices with known answers, against brute force over every path, and
against ctc_loss; one case where beam search finds what the best path misses."""
import itertools

import numpy as np
import pytest

import lucidnet as ln
import lucidnet.nn.functional as F
from lucidnet import optim
from lucidnet.decoding import CTCHypothesis, ctc_beam_search, ctc_greedy_decode


def _frames(rows, eps=0.01):
    """Log-probabilities (T, C) that put 1 - eps on class ``rows[t]`` and share eps among the others."""
    c = max(rows) + 1 if max(rows) > 1 else 3
    p = np.full((len(rows), c), eps / (c - 1))
    p[np.arange(len(rows)), rows] = 1 - eps
    return np.log(p)


def _brute_force(lp, blank=0):
    """Every labeling's probability, summed over all C^T paths."""
    t_, c = lp.shape
    probs = {}
    for path in itertools.product(range(c), repeat=t_):
        labels = tuple(k for i, k in enumerate(path) if k != blank and (i == 0 or path[i - 1] != k))
        probs[labels] = probs.get(labels, 0.0) + np.exp(sum(lp[i, k] for i, k in enumerate(path)))
    return probs


def test_greedy_collapses_repeats_and_drops_blanks():
    h = ctc_greedy_decode(_frames([0, 1, 1, 0, 1, 2, 2, 2, 0, 3, 0]))
    assert h.labels == (1, 1, 2, 3)
    assert h.frames == (1, 4, 5, 9)
    assert h.score == pytest.approx(11 * np.log(0.99))


def test_greedy_batched_lengths_blank_and_tensor_input():
    a, b = _frames([2, 2, 1, 2, 0, 0]), _frames([1, 0, 1, 1, 2, 2])
    lp = ln.tensor(np.stack([a, b], axis=1))                    # (T, N, C)
    hyps = ctc_greedy_decode(lp, input_lengths=[6, 4], blank=2)
    assert [h.labels for h in hyps] == [(1, 0), (1, 0, 1)]
    assert ctc_greedy_decode(lp, blank=2)[1].labels == (1, 0, 1)


def test_beam_search_beats_greedy():
    """Two frames of P(blank) = 0.6, P(1) = 0.4: the best path is blank-blank (0.36), but the labeling (1,) has
    three paths, 1-1, 1-blank, blank-1: 0.16 + 0.24 + 0.24 = 0.64."""
    lp = np.log([[0.6, 0.4], [0.6, 0.4]])
    greedy = ctc_greedy_decode(lp)
    assert greedy.labels == () and np.exp(greedy.score) == pytest.approx(0.36)
    hyps = ctc_beam_search(lp, beam_width=2)
    assert [h.labels for h in hyps] == [(1,), ()]
    assert np.exp([h.score for h in hyps]) == pytest.approx([0.64, 0.36])


def test_beam_search_beats_greedy_on_a_longer_sequence():
    # frames where the label 1 is split over frames so that no single path wins, but "1 2" does
    p = np.array([[0.5, 0.4, 0.1], [0.5, 0.4, 0.1], [0.5, 0.1, 0.4], [0.5, 0.1, 0.4]])
    lp = np.log(p)
    truth = _brute_force(lp)
    best = max(truth, key=truth.get)
    assert best == (1, 2) and ctc_greedy_decode(lp).labels == ()
    top = ctc_beam_search(lp, beam_width=4)[0]
    assert top.labels == (1, 2) and np.exp(top.score) == pytest.approx(truth[(1, 2)])


@pytest.mark.parametrize("seed", range(4))
def test_exhaustive_beam_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    lp = np.log(rng.dirichlet(np.ones(3) * 0.5, size=5))        # T=5, C=3: 243 paths
    truth = _brute_force(lp)
    hyps = ctc_beam_search(lp, beam_width=len(truth))
    assert {h.labels for h in hyps} == set(truth)
    for h in hyps:
        assert np.exp(h.score) == pytest.approx(truth[h.labels], rel=1e-9)
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)


def test_beam_scores_equal_ctc_loss():
    rng = np.random.default_rng(1)
    x = ln.tensor(rng.standard_normal((6, 2, 4)), dtype=ln.float64).log_softmax(-1)
    for b, hyps in enumerate(ctc_beam_search(x, input_lengths=[6, 5], beam_width=500)):
        for h in hyps[:10]:
            loss = F.ctc_loss(x[:, b], list(h.labels) or [1], [6, 5][b], len(h.labels), reduction="sum")
            assert h.score == pytest.approx(-loss.item(), rel=1e-9)


def test_beam_width_one_is_a_beam():
    hyps = ctc_beam_search(_frames([1, 0, 2, 2]), beam_width=1)
    assert len(hyps) == 1 and isinstance(hyps[0], CTCHypothesis) and hyps[0].labels == (1, 2)


def test_learned_alignment_decodes_to_its_target():
    """ctc_loss drives free per-frame logits to a target with a repeated label; both decoders read it back."""
    ln.manual_seed(0)
    logits = ln.zeros(10, 1, 5, requires_grad=True)
    opt = optim.Adam([logits], lr=0.3)
    target = [[3, 3, 1, 4]]
    for _ in range(60):
        opt.zero_grad()
        F.ctc_loss(logits.log_softmax(-1), target, [10], [4]).backward()
        opt.step()
    lp = logits.log_softmax(-1)
    assert ctc_greedy_decode(lp)[0].labels == (3, 3, 1, 4)
    assert ctc_beam_search(lp, beam_width=4)[0][0].labels == (3, 3, 1, 4)


@pytest.mark.parametrize("call, match", [
    (lambda: ctc_greedy_decode(np.zeros((2, 3, 4, 5))), r"ctc_greedy_decode: log_probs must be floating point of "
                                                        r"shape \(T, N, C\) or, unbatched, \(T, C\); got float64 of "
                                                        r"shape \(2, 3, 4, 5\)"),
    (lambda: ctc_greedy_decode(np.zeros((4, 3)), blank=3), r"blank=3 must be a class index in \[0, 3\)"),
    (lambda: ctc_beam_search(np.zeros((4, 2, 3)), [4]), r"input_lengths must hold one length per sample \(2\)"),
    (lambda: ctc_beam_search(np.zeros((4, 2, 3)), [4, 5]), r"input_lengths must be in \[0, 4\]"),
    (lambda: ctc_beam_search(np.zeros((4, 3)), beam_width=0), r"beam_width must be an int >= 1, got 0"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
