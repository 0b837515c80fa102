"""A bounded fuzz campaign per kind of input, in every CI run, and the inputs earlier
campaigns found replayed.

Each target's inputs run in a worker process capped at 512 MiB of address space and 2 s
of CPU per input (`tests.fuzz.worker`); a traceback, an exit status other than 0/1/2, the
time or memory limit, or 30 s without progress (a blocked read) fails the test with the
input's description. ``PLACER_FUZZ_ITERATIONS`` changes the number of inputs per target
(default 200, about 2 s per target); ``python -m tests.fuzz`` runs a longer campaign.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fuzz.runner import campaign
from tests.fuzz.seeds import TARGETS, Target, build_targets

#: Inputs per target in CI: with the nine targets, a few seconds of CPU each.
ITERATIONS = int(os.environ.get("PLACER_FUZZ_ITERATIONS", "200"))
#: The campaign seed: fixed, so a CI failure reproduces with the same inputs.
SEED = 13
REGRESSIONS = Path(__file__).resolve().parent / "regressions"


@pytest.fixture(scope="session")
def fuzz_targets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Target]:
    return build_targets(tmp_path_factory.mktemp("fuzz"))


@pytest.mark.toolchain("arm")
@pytest.mark.parametrize("name", TARGETS)
def test_mutated_inputs_get_a_message_never_a_traceback_hang_or_runaway(
        name: str, fuzz_targets: dict[str, Target]) -> None:
    outcome = campaign(fuzz_targets[name], seed=SEED, iterations=ITERATIONS)
    assert outcome.inputs == ITERATIONS
    assert not outcome.failures, "\n\n".join(
        failure.describe() for failure in outcome.distinct().values())


def _regression_targets() -> list[str]:
    return [name for name in TARGETS if (REGRESSIONS / name).is_dir()]


@pytest.mark.toolchain("arm")
@pytest.mark.parametrize("name", _regression_targets())
def test_inputs_earlier_campaigns_found_stay_fixed(
        name: str, fuzz_targets: dict[str, Target]) -> None:
    kept = sorted((REGRESSIONS / name).iterdir())
    outcome = campaign(fuzz_targets[name], replay=kept)
    assert outcome.inputs == len(kept)
    assert not outcome.failures, "\n\n".join(
        f"{kept[failure.index].name}: {failure.describe()}" for failure in outcome.failures)
