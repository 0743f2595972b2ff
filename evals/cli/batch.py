"""`rft-evals batch`: candidate generation with Bedrock batch inference, then scoring through `rft-evals run`.

    rft-evals batch write --candidate rft --out runs/batch/rft candidates=nova limit=null   # Hydra overrides
    rft-evals batch submit runs/batch/rft --role-arn arn:aws:iam::123456789012:role/bedrock-batch \\
        --s3-uri s3://my-bucket/rft-evals
    rft-evals batch status runs/batch/rft --wait          # polls GetModelInvocationJob to a terminal status
    rft-evals batch collect runs/batch/rft                # downloads *.jsonl.out, joins them by recordId
    rft-evals batch score runs/batch/rft tracking=none    # rft-evals run with the candidate replayed

The role ARN and S3 URI may come from RFT_BATCH_ROLE_ARN and RFT_BATCH_S3_URI. AWS credentials and region
come from the usual chain (AWS_PROFILE, environment, instance role; --profile / --region override);
AWS_ENDPOINT_URL_BEDROCK and AWS_ENDPOINT_URL_S3 point the clients elsewhere."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import evals.providers.bedrock.batch as batch
from evals.conf import compose

ROLE_ENV, S3_ENV = "RFT_BATCH_ROLE_ARN", "RFT_BATCH_S3_URI"


def compose_run_config(overrides: Sequence[str]) -> dict[str, Any]:
    """The resolved `rft-evals run` config for these overrides (conf/config.yaml), without starting a run."""
    from omegaconf import OmegaConf

    cfg = compose("config", overrides, job_name="batch")
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def select_items(config: dict[str, Any]) -> tuple[Any, Any]:
    """The task and the items `rft-evals run` would evaluate with this config (same task, split, limit, seed)."""
    from evals.run.items import DatasetItems
    from tasks.data_root import data_root
    from tasks.registry import build_task

    root = Path(config["data_root"]) if config.get("data_root") else data_root()
    task = build_task(config["task"], data_root=root)
    dataset = task.load(config["task"]["split"])
    return task, DatasetItems(task.select(dataset, config.get("limit"), config["seed"]))


def make_clients(region: str | None, profile: str | None) -> tuple[Any, Any]:
    import boto3

    session = boto3.Session(profile_name=profile)
    region = region or session.region_name or "us-east-1"
    return session.client("bedrock", region_name=region), session.client("s3", region_name=region)


def _write(args: argparse.Namespace) -> int:
    config = compose_run_config(args.overrides)
    candidates = config["candidates"]
    if args.candidate not in candidates:
        raise batch.BatchError(f"--candidate {args.candidate!r} is not in the candidate set {sorted(candidates)}; "
                               "pick one, or choose the set with candidates=...")
    model_cfg = candidates[args.candidate]
    if model_cfg.get("provider") != "bedrock":
        raise batch.BatchError(f"candidate {args.candidate!r} uses provider {model_cfg.get('provider')!r}; batch "
                               "inference runs Bedrock models only (e.g. candidates=nova)")
    task, items = select_items(config)
    out = Path(args.out or f"runs/batch/{datetime.now():%Y-%m-%d-%H%M%S}-{args.candidate}")
    job = batch.write_input(task, items, args.candidate, model_cfg, out, seed=int(config["seed"]),
                            overrides=args.overrides, max_records_per_file=args.max_records_per_file)
    print(f"wrote {len(job.item_ids)} records ({job.body_format} format, model {job.model_id}) in "
          f"{len(job.input_files)} file(s) under {out}" + (f"; {len(job.skipped)} items skipped" if job.skipped
                                                           else ""))
    print(f"next: rft-evals batch submit {out} --role-arn ARN --s3-uri s3://BUCKET/PREFIX")
    return 0


def _submit(args: argparse.Namespace) -> int:
    role = args.role_arn or os.environ.get(ROLE_ENV, "")
    s3_uri = args.s3_uri or os.environ.get(S3_ENV, "")
    if not role or not s3_uri:
        raise batch.BatchError(f"submit needs the service role and an S3 location: pass --role-arn and --s3-uri "
                               f"(or set {ROLE_ENV} and {S3_ENV})")
    folder = Path(args.folder)
    bedrock, s3 = make_clients(args.region or batch.BatchJob.load(folder).region, args.profile)
    job = batch.submit(folder, bedrock=bedrock, s3=s3, role_arn=role, s3_uri=s3_uri, job_name=args.job_name,
                       model_id=args.model_id, timeout_hours=args.timeout_hours)
    print(f"submitted {job.job_name}: {job.job_arn}\n  input  {job.input_s3_uri}\n  output {job.output_s3_uri}")
    print(f"next: rft-evals batch status {folder} --wait")
    return 0


def _status(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    bedrock, _ = make_clients(args.region or batch.BatchJob.load(folder).region, args.profile)
    if args.wait:
        job = batch.wait(folder, bedrock, poll_s=args.poll_s, deadline_s=args.deadline_s,
                         on_status=lambda j: print(f"{datetime.now():%H:%M:%S} {j.job_name}: {j.status}", flush=True))
    else:
        job = batch.refresh(folder, bedrock)
    print(f"{job.job_name}: {job.status}" + (f" ({job.message})" if job.message else ""))
    if job.status in batch.SUCCEEDED:
        print(f"next: rft-evals batch collect {folder}")
    return 0 if job.status not in ("Failed", "Stopped", "Expired") else 1


def _collect(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    _, s3 = make_clients(args.region or batch.BatchJob.load(folder).region, args.profile)
    batch.download_outputs(folder, s3, allow_unfinished=args.allow_unfinished)
    report = batch.join_outputs(folder)
    print(json.dumps(report.to_dict(), indent=1))
    print(f"{report.outputs} of {report.records} records have an output; the others carry their error. "
          f"next: rft-evals batch score {folder}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from evals.cli.run import main as run

    folder = Path(args.folder)
    job = batch.BatchJob.load(folder)
    candidates = compose_run_config(job.overrides)["candidates"]
    return run(batch.score_argv(folder, job, candidates, args.overrides))


def _aws(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", help="the batch folder made by `rft-evals batch write`")
    parser.add_argument("--region", default=None, help="AWS region (default: the model config's, else the profile's)")
    parser.add_argument("--profile", default=None, help="AWS profile (default: the usual credential chain)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rft-evals batch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    write = sub.add_parser("write", help="write the batch input JSONL of one candidate")
    write.add_argument("--candidate", required=True, help="a Bedrock candidate of the set, e.g. rft")
    write.add_argument("--out", default=None, help="the batch folder to create (default runs/batch/<time>-<name>)")
    write.add_argument("--max-records-per-file", type=int, default=batch.MAX_RECORDS_PER_FILE)
    write.add_argument("overrides", nargs="*", help="Hydra overrides of `rft-evals run` (task, limit, seed, ...)")
    write.set_defaults(func=_write)

    submit = sub.add_parser("submit", help="upload the input to S3 and create the batch job")
    _aws(submit)
    submit.add_argument("--role-arn", default=None, help=f"service role of the job (or ${ROLE_ENV})")
    submit.add_argument("--s3-uri", default=None, help=f"s3://bucket/prefix for input and output (or ${S3_ENV})")
    submit.add_argument("--job-name", default=None)
    submit.add_argument("--model-id", default=None, help="override the model config's model id for the job")
    submit.add_argument("--timeout-hours", type=int, default=None, help="24-168; Bedrock's default otherwise")
    submit.set_defaults(func=_submit)

    status = sub.add_parser("status", help="the job's status; --wait polls until it ends")
    _aws(status)
    status.add_argument("--wait", action="store_true")
    status.add_argument("--poll-s", type=float, default=60.0)
    status.add_argument("--deadline-s", type=float, default=24 * 3600.0)
    status.set_defaults(func=_status)

    collect = sub.add_parser("collect", help="download the outputs and join them to the items by recordId")
    _aws(collect)
    collect.add_argument("--allow-unfinished", action="store_true", help="collect what is there before the end")
    collect.set_defaults(func=_collect)

    score = sub.add_parser("score", help="score the collected outputs with `rft-evals run`")
    score.add_argument("folder")
    score.add_argument("overrides", nargs="*", help="more Hydra overrides, e.g. tracking=none")
    score.set_defaults(func=_score)
    return parser


def main(argv: list[str]) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from evals.run.user_errors import USER_ERRORS

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (*USER_ERRORS, BotoCoreError, ClientError) as exc:  # config, data, AWS: a message, not a traceback
        if os.environ.get("RFT_DEBUG"):
            raise
        print(f"rft-evals batch: error: {exc}", file=sys.stderr)
        return 2
