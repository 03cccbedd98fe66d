"""Next-token choice (perception.sampling): greedy, temperature, nucleus, seeds."""

import numpy as np
import pytest

from vlagent.perception.sampling import SamplingError, SamplingParams, choose

LOGITS = np.log(np.array([0.5, 0.3, 0.15, 0.05], dtype=np.float32))


def draws(params, n=4000, seed=0):
    rng = np.random.default_rng(seed)
    return np.bincount([choose(LOGITS, params, rng) for _ in range(n)], minlength=4) / n


def test_greedy_is_argmax():
    assert choose(np.array([0.1, 3.0, 3.0, -1.0]), SamplingParams()) == 1  # ties -> lowest id


def test_sampling_follows_softmax_and_top_p_cuts_the_tail():
    full = draws(SamplingParams(do_sample=True))
    assert np.allclose(full, [0.5, 0.3, 0.15, 0.05], atol=0.03)
    nucleus = draws(SamplingParams(do_sample=True, top_p=0.75))  # 0.5 + 0.3 is the smallest set reaching it
    assert nucleus[2:].sum() == 0 and np.allclose(nucleus[:2], [0.625, 0.375], atol=0.03)
    assert draws(SamplingParams(do_sample=True, top_p=0.01), n=50)[0] == 1.0
    cold = draws(SamplingParams(do_sample=True, temperature=0.25))
    assert cold[0] > 0.85


def test_same_seed_same_draws():
    params = SamplingParams(do_sample=True, temperature=1.3)
    assert np.array_equal(draws(params, n=50, seed=3), draws(params, n=50, seed=3))


def test_bad_parameters_raise():
    with pytest.raises(SamplingError):
        SamplingParams(do_sample=True, temperature=0)
    with pytest.raises(SamplingError):
        SamplingParams(top_p=0)
    with pytest.raises(SamplingError):
        choose(LOGITS, SamplingParams(do_sample=True))
