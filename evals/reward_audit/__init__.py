"""`rft-evals reward audit`: is the reward worth maximising? Answer policies of known quality (honest ones
derived from the gold, degenerate and adversarial ones, the task's baselines, recorded runs) are scored
through the reward Lambda's own bundle and handler, and their mean rewards are compared with the task's
production metrics (docs/reward_design.md).

    policies.py      Policy, the registry of policy families keyed by scorer kind
    comment_policies.py, label_policies.py, ...   one family per scorer kind
    scoring.py       events -> metrics.reward.lambda_handler.handle -> per-policy rewards and components
    figures.py       Kendall / Spearman, hackability margins, component attribution, the gate
    judge_audit.py   judge-aimed policies through the judge path (a scripted judge offline)
    report.py        JSON and Markdown
    runner.py        the whole audit of one task and reward"""
