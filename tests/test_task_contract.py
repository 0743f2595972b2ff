"""The task contract (tasks/base.py) and the capability protocols (tasks/capabilities.py): every task kind
keeps the whole contract, and each has exactly the optional abilities the harness relies on for it."""

from __future__ import annotations

import pytest

from _task_matrix import EVERY_TASK, build, write_config_task
from tasks.base import Task
from tasks.capabilities import (
    AnswersMajority,
    FingerprintsMajority,
    HasReferenceText,
    RendersGold,
    ReportsLoading,
    SentenceLevel,
)

ABILITIES = {"gold": RendersGold, "reference_text": HasReferenceText, "majority": AnswersMajority,
             "majority_fingerprint": FingerprintsMajority, "sentences": SentenceLevel, "load_report": ReportsLoading}
# What each kind can do; a change here is a change of what the providers and judges can run on.
EXPECTED = {
    "contract_review": {"gold", "reference_text", "sentences"},
    "cuad_risks": {"gold", "reference_text", "sentences"},
    "nda_policy": {"gold", "reference_text", "majority", "majority_fingerprint"},
    "unfair_tos": {"gold", "reference_text", "majority", "majority_fingerprint"},  # an empty reference_text
    "config": {"gold", "reference_text", "majority", "majority_fingerprint", "load_report"},
}


@pytest.fixture(scope="module")
def config_spec(data_root, tmp_path_factory):
    return write_config_task(data_root, tmp_path_factory.mktemp("config_task"))


@pytest.mark.parametrize("name", EVERY_TASK)
def test_every_task_keeps_the_contract_and_has_its_abilities(name, data_root, config_spec):
    task = build(name, data_root, config_spec)
    assert isinstance(task, Task)
    assert {ability for ability, protocol in ABILITIES.items() if isinstance(task, protocol)} == EXPECTED[name]


def test_a_bare_object_is_not_a_task_and_has_no_ability():
    class Bare:
        name = "bare"
        scorer_name = "label"

        def load(self, split):
            return []

    assert not isinstance(Bare(), Task)  # select, messages, score ... are missing
    assert not any(isinstance(Bare(), protocol) for protocol in ABILITIES.values())
