"""Continuous batching (perception.batching) on the shipped package: joined and left between
steps, every request gets its solo tokens; a bad request fails alone; cancelling frees the slot."""

import pytest

from vlagent.perception.batching import BatchScheduler, GenerationRequest, SchedulerError
from vlagent.perception.demo_model import path
from vlagent.perception.engine import load
from vlagent.policies.prompts import grounding_prompt
from vlagent.sim.phone import Phone


@pytest.fixture(scope="module")
def engine():
    return load(path(), backend="onnx", threads=1)


def test_requests_joining_and_leaving_get_their_solo_tokens(engine):
    queries = [("Settings", 0, 40), ("Clock", 1, 7), ("Back", 2, 40), ("Camera", 3, 12), ("Home", 4, 40),
               ("Chrome", 5, 3)]
    frames = [Phone(seed=seed).render() for _, seed, _ in queries]
    solo = [engine.generate(grounding_prompt(label), images=[frame], max_new_tokens=n).token_ids
            for (label, _, n), frame in zip(queries, frames, strict=True)]
    scheduler = BatchScheduler(engine, max_batch=3)  # six requests through three slots: some wait, some join late
    try:
        requests = [scheduler.submit(GenerationRequest(grounding_prompt(label), [frame], max_new_tokens=n))
                    for (label, _, n), frame in zip(queries, frames, strict=True)]
        assert all(r.wait(60) for r in requests)
        assert [r.token_ids for r in requests] == solo
        assert {r.finish_reason for r in requests} <= {"stop", "length"}
        assert scheduler.rows_decoded / scheduler.steps > 1.5, "sequences were decoded together"
        assert max(r.timings["queued"] for r in requests) > 0
    finally:
        scheduler.close()


def test_a_bad_request_fails_alone_and_a_cancelled_one_frees_its_slot(engine):
    scheduler = BatchScheduler(engine, max_batch=2)
    try:
        long = scheduler.submit(GenerationRequest("hello", max_new_tokens=3000, ignore_eos=True))
        bad = scheduler.submit(GenerationRequest(grounding_prompt("x"), []))  # an image pad but no image
        assert bad.wait(30) and bad.finish_reason == "error" and isinstance(bad.error, ValueError)
        scheduler.cancel(long)
        assert long.wait(30) and long.finish_reason == "cancelled" and 0 < len(long.token_ids) < 3000
        good = scheduler.submit(GenerationRequest(grounding_prompt("Settings"), [Phone(seed=0).render()]))
        assert good.wait(30) and good.finish_reason == "stop" and scheduler.active == 0
    finally:
        scheduler.close()
    with pytest.raises(SchedulerError, match="closed"):
        scheduler.submit(GenerationRequest("hello"))
