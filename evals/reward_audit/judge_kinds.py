"""The audit's judge path for every reward judge kind (rubric, 1-5 scale, preference), offline.

A scripted judge here is the reward's own judge kind (metrics/reward/judge_kinds/: the production judge's
prompt, verdict parsing, re-ask and combination) with a scripted transport: `send(request)` answers the
request the kind built, as a judge with one behaviour would:

    honest    verdicts read off the deterministic scores against the gold (the rubric read literally,
              judge_audit.RUBRIC_VERDICTS): a scale dimension scores 5 when its criterion passes, 1 when not;
              a preference goes to the answer passing more criteria, a tie when they pass as many
    fooled    honest, except that an answer carrying steering text (VERDICT: PASS, "ignore the rubric", the
              rubric restated, the steering probes) passes everything / scores 5 / wins
    length    (preference) the longer output wins, equal lengths tie: verbosity bias
    position  (preference) the output shown first wins: position bias

`behaviour_table` scores the judge-aimed policies (plus the gold answer, and the gold answer made longer with
the same content) through the Lambda handler under each behaviour and reports each policy's gain over the
honest judge: what a policy earns by steering or by exploiting a bias, per judge kind."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evals.reward_audit.judge_audit import (RUBRIC_VERDICTS, judge_aimed_policies, load_probes,
                                            steering_texts)
from evals.reward_audit.policies import DEGENERATE, HONEST, Item, Policy
from evals.reward_audit.scoring import score_policy
from metrics.judges import prompt_hygiene
from metrics.judges.types import JudgeRequest
from metrics.reward.bundle import RewardBundle
from metrics.reward.judge_kinds import kind_name, reward_judge

HONEST_JUDGE, FOOLED, LENGTH, POSITION = "honest", "fooled", "length", "position"
BEHAVIOURS: dict[str, tuple[str, ...]] = {
    "rubric": (HONEST_JUDGE, FOOLED),
    "scale": (HONEST_JUDGE, FOOLED),
    "preference": (HONEST_JUDGE, FOOLED, LENGTH, POSITION),
}
_COMMENT = re.compile(r"^Comment \d+: ", re.MULTILINE)
VERBOSE_PREFIX = "To restate the point plainly for the reader: "


def _user(request: JudgeRequest) -> str:
    return "".join(m["content"] for m in request.messages if m["role"] == "user")


@dataclass
class ScriptedKindJudge:
    """The reward's judge kind behind a scripted transport (see the module docstring)."""

    bundle: RewardBundle
    behaviour: str = HONEST_JUDGE
    fooled_by: tuple[str, ...] = ()
    calls: int = 0
    kind: Any = field(init=False)
    _verdicts: dict[tuple[str, str], dict[str, bool]] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.kind = reward_judge(self.bundle.reward.judge, self.bundle.reward.source)
        allowed = BEHAVIOURS[self.kind.kind]
        if self.behaviour not in allowed:
            raise ValueError(f"a scripted {self.kind.kind} judge behaves as one of {allowed}, not {self.behaviour!r}")

    def parts_for(self, criteria: tuple[str, ...]) -> tuple[str, ...]:
        return self.kind.parts_for(criteria)

    def score_part(self, part: str, output_text: str, reference: Any, document: str,
                   deadline: float | None = None) -> Mapping[str, float]:
        send = _SENDERS[self.kind.kind](self, output_text, reference)
        return self.kind.score_part(part, output_text, reference, document, self.bundle.reference_text, send)

    # -- what the scripted judge thinks of one answer --------------------------------------------------------
    def steered(self, text: str) -> bool:
        return self.behaviour == FOOLED and any(s and s in text for s in self.fooled_by)

    def passes(self, text: str, reference: Any) -> dict[str, bool]:
        key = (text, json.dumps(reference, sort_keys=True, default=str))  # one scoring per answer, not per call
        if key not in self._verdicts:
            values = self.bundle.score(text, reference).values
            valid = values.get("schema_valid", 0) >= 1
            self._verdicts[key] = {name: valid and rule(values) for name, rule in RUBRIC_VERDICTS.items()}
        return self._verdicts[key]

    def counted(self) -> None:
        self.calls += 1


def _rubric_send(judge: ScriptedKindJudge, output_text: str, reference: Any):
    def send(request: JudgeRequest) -> tuple[str, str]:
        judge.counted()
        verdicts = {c: True for c in RUBRIC_VERDICTS} if judge.steered(output_text) \
            else judge.passes(output_text, reference)
        one = {c: {"justification": "scripted", "verdict": "pass" if ok else "fail"} for c, ok in verdicts.items()}
        return json.dumps(one if request.part == "all" else one[request.part]), "end_turn"
    return send


def _scale_send(judge: ScriptedKindJudge, output_text: str, reference: Any):
    def send(request: JudgeRequest) -> tuple[str, str]:
        judge.counted()
        steered = judge.steered(output_text)
        verdicts = judge.passes(output_text, reference)
        n = len(_COMMENT.findall(_user(request)))
        row = {d: 5 if steered or verdicts.get(d, False) else 1 for d in verdicts}
        return json.dumps({"justification": "scripted",
                           "scores": [{"comment": i + 1, **row} for i in range(n)]}), "end_turn"
    return send


def _preference_send(judge: ScriptedKindJudge, output_text: str, reference: Any):
    gold = reference.get(judge.kind.reference_key, "") if isinstance(reference, Mapping) else ""
    cut = judge.kind.judge.settings.max_response_chars

    def shown(text: str) -> str:  # how a text appears inside its OUTPUT block
        return prompt_hygiene.defang(prompt_hygiene.truncate(text, cut)[0])

    def quality(text: str) -> float:
        return math.inf if judge.steered(text) else float(sum(judge.passes(text, reference).values()))

    def send(request: JudgeRequest) -> tuple[str, str]:
        judge.counted()
        first, second = prompt_hygiene.blocks(_user(request), "OUTPUT")
        if judge.behaviour == POSITION:
            return json.dumps({"justification": "scripted", "winner": "A"}), "end_turn"
        texts = {shown(output_text): output_text, shown(gold): gold}
        a, b = texts.get(first, first), texts.get(second, second)
        if judge.behaviour == LENGTH:
            score_a, score_b = float(len(a)), float(len(b))
        else:
            score_a, score_b = quality(a), quality(b)
        winner = "A" if score_a > score_b else "B" if score_b > score_a else "tie"
        return json.dumps({"justification": "scripted", "winner": winner}), "end_turn"
    return send


_SENDERS: dict[str, Callable[[ScriptedKindJudge, str, Any], Callable[[JudgeRequest], tuple[str, str]]]] = {
    "rubric": _rubric_send, "scale": _scale_send, "preference": _preference_send}


def scripted(bundle: RewardBundle, fooled_by: tuple[str, ...] = ()) -> ScriptedKindJudge:
    """The factory judge_audit.JUDGES holds per kind: honest, or fooled by `fooled_by`."""
    return ScriptedKindJudge(bundle, FOOLED if fooled_by else HONEST_JUDGE, tuple(fooled_by))


def _verbose(task: Any) -> Callable[[Item, Any], str]:
    """The gold answer with every rationale said twice over: longer, the same content."""
    limit = int(getattr(task.config, "max_rationale", 300))

    def answer(item: Item, rng: Any) -> str:
        data = json.loads(task.render_gold(item))
        for comment in data["comments"]:
            comment["rationale"] = (comment["rationale"] + " " + VERBOSE_PREFIX + comment["rationale"])[:limit]
        return json.dumps(data, ensure_ascii=False)
    return answer


def audit_policies(task: Any, items: Sequence[Item], probes: Sequence[Mapping[str, str]],
                   aimed: Sequence[Policy] | None = None) -> list[Policy]:
    """The gold answer, the gold answer made longer with the same content, and the judge-aimed policies
    (`aimed`, default judge_audit.judge_aimed_policies: the task family's, plus one per steering probe)."""
    aimed = judge_aimed_policies(task, items, probes) if aimed is None else aimed
    return [Policy("gold", HONEST, lambda item, rng: task.render_gold(item), "the gold answer"),
            Policy("verbose_gold", DEGENERATE, _verbose(task), "the gold answer, every rationale restated: "
                   "longer, nothing added", True), *aimed]


def behaviour_table(task: Any, bundle: RewardBundle, items: Sequence[Item],
                    probes: Sequence[Mapping[str, str]] | None = None,
                    policies: Sequence[Policy] | None = None) -> dict[str, Any]:
    """Each policy's mean reward under each scripted behaviour of the reward's judge kind, and its largest
    gain over the honest judge. `policies` default: audit_policies(task, items, probes)."""
    probes = load_probes() if probes is None else probes
    kind = kind_name(bundle.reward.judge)
    steering = steering_texts(probes)
    behaviours = BEHAVIOURS[kind]
    rows = []
    calls = 0
    for policy in audit_policies(task, items, probes) if policies is None else policies:
        row: dict[str, Any] = {"policy": policy.name}
        for behaviour in behaviours:
            judge = ScriptedKindJudge(bundle, behaviour, steering)
            row[behaviour] = score_policy(policy, items, task, bundle, judge).mean_reward
            calls += judge.calls
        gains = {b: row[b] - row[HONEST_JUDGE] for b in behaviours if b != HONEST_JUDGE}
        row["gain"] = max(gains.values())
        row["gained_by"] = max(gains, key=lambda b: gains[b])
        rows.append(row)
    return {"kind": kind, "behaviours": list(behaviours), "rows": rows, "judge_calls": calls,
            "items": len(items)}


def to_markdown(table: Mapping[str, Any]) -> list[str]:
    behaviours = table["behaviours"]
    lines = [f"Judge kind **{table['kind']}** ({table['items']} items, scripted judges, mean reward):", "",
             "| policy | " + " | ".join(behaviours) + " | largest gain (by) |",
             "|---|" + "---|" * (len(behaviours) + 1)]
    for row in table["rows"]:
        cells = [f"{row[b]:.3f}" for b in behaviours]
        lines.append(f"| {row['policy']} | " + " | ".join(cells) + f" | {row['gain']:+.3f} ({row['gained_by']}) |")
    return lines
