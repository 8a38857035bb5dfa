"""`surroundyou batch start|status`: convert a whole library prefix on AWS (or on the local stack).

The owner starts the BatchConvert state machine with their own AWS credentials (boto3 reads them,
the region and AWS_ENDPOINT_URL from the environment, so `make run`'s export line points it at the
local stack), then follows the batch item (surroundyou_jobs.batches) under a progress bar:

    surroundyou batch start --prefix albums/2024/ --preset slow --wait
    surroundyou batch status 1f3c0d1e...

Both end with one line such as `batch 1f3c0d1e: SUCCEEDED, 17 ready, 3 failed`; the exit code is
1 when the batch FAILED (2 when it could not be started or found).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from surroundyou_jobs.batches import BatchStatus, counts
from surroundyou_jobs.options import DEFAULT_PRESET, PRESETS

# the tag on the BatchConvert state machine that names its batch table (template.yaml)
BATCHES_TABLE_TAG = "surroundyou:batches-table"
REPORTS_BUCKET_TAG = "surroundyou:reports-bucket"
STATE_MACHINE_SUFFIX = "-batch"  # template.yaml names it <stack>-batch
POLL_S = 2.0


class BatchError(Exception):
    """The command cannot go on; the message says why."""


def add_batch_command(commands: Any) -> None:
    """The `batch` command and its `start` and `status` subcommands (registered by cli.py)."""
    batch = commands.add_parser(
        "batch",
        help="convert a library prefix on AWS (BatchConvert state machine)",
        description="Start and follow batches of the BatchConvert state machine with your AWS credentials "
        "(AWS_ENDPOINT_URL, e.g. the local stack's, is honoured).",
    )
    actions = batch.add_subparsers(required=True, metavar="ACTION")
    start = actions.add_parser("start", help="convert every song under a prefix of the library")
    start.add_argument("--prefix", required=True, help='a folder of the library, e.g. "albums/2024/" ("" = all)')
    start.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET, help="the songs' preset")
    start.add_argument("--format", choices=("mp3", "flac", "wav", "ogg"), help="output format (default mp3)")
    start.add_argument(
        "--output-prefix",
        help="folder of the library's output folder (library-8d/) for the 8D songs (default: the prefix's own)",
    )
    start.add_argument(
        "--skip-existing",
        action="store_true",
        help="leave out songs whose 8D version is in the output folder already (convert only what is new)",
    )
    start.add_argument("--name", help="the batch id (default: a new random one)")
    start.add_argument("--wait", action="store_true", help="follow the batch to its end")
    start.add_argument("--state-machine", help="ARN of BatchConvert (default: the one state machine named *-batch)")
    start.set_defaults(command=start_command)
    status = actions.add_parser("status", help="show a batch's progress")
    status.add_argument("batch_id", metavar="ID")
    status.add_argument("--wait", action="store_true", help="follow the batch to its end")
    status.add_argument("--state-machine", help="ARN of BatchConvert (default: the one state machine named *-batch)")
    status.set_defaults(command=status_command)


def start_command(args: argparse.Namespace) -> int:
    console = Console()
    try:
        batches = Batches.connect(args.state_machine)
        options: dict[str, Any] = {"preset": args.preset}
        if args.format:
            options["format"] = args.format
        request: dict[str, Any] = {"prefix": args.prefix, "options": options}
        if args.output_prefix:
            request["outputPrefix"] = args.output_prefix
        if args.skip_existing:
            request["skipExisting"] = True
        batch_id = batches.start(args.name or uuid.uuid4().hex, request)
        console.print(f"batch {batch_id} started: {batches.execution_arn(batch_id)}", highlight=False, soft_wrap=True)
        return follow(batches, batch_id, args.wait, console)
    except BatchError as error:
        Console(stderr=True).print(f"[red]surroundyou batch: {error}[/red]", highlight=False)
        return 2


def status_command(args: argparse.Namespace) -> int:
    console = Console()
    try:
        return follow(Batches.connect(args.state_machine), args.batch_id, args.wait, console)
    except BatchError as error:
        Console(stderr=True).print(f"[red]surroundyou batch: {error}[/red]", highlight=False)
        return 2


def summary_line(batch_id: str, status: str, item: dict[str, Any] | None) -> str:
    """`batch 1f3c0d1e: SUCCEEDED, 17 ready, 3 failed` (and what is still running, what was skipped)."""
    numbers = counts(item or {})
    line = f"batch {batch_id}: {status}, {numbers['ready']} ready, {numbers['failed']} failed"
    if numbers["skipped"]:
        line += f", {numbers['skipped']} skipped (converted before, or another file of the same song)"
    if status == BatchStatus.RUNNING.value:
        line += f", {numbers['running']} running, {numbers['total']} in all"
    error = (item or {}).get("error")
    if status == BatchStatus.FAILED.value and error:
        line += f" ({error.get('message', error.get('code', ''))})"
    return line


def follow(batches: Batches, batch_id: str, wait: bool, console: Console) -> int:
    """Show the batch's progress (until it ends with ``wait``), then its summary line; the exit code.
    Stopped while it waits (Ctrl-C), it says that the batch goes on, and how to follow it again."""
    status, item = batches.status(batch_id)
    if wait and status == BatchStatus.RUNNING.value:
        try:
            status, item = _wait(batches, batch_id, item, console)
        except KeyboardInterrupt:
            Console(stderr=True).print(
                f"batch {batch_id} goes on in AWS: `surroundyou batch status {batch_id} --wait` follows it again",
                highlight=False,
                soft_wrap=True,
            )
            raise
    if status != BatchStatus.RUNNING.value and counts(item or {})["failed"]:
        for line in batches.failures(item):
            console.print(f"failed: {line}", highlight=False, soft_wrap=True)
    console.print(summary_line(batch_id, status, item), highlight=False, soft_wrap=True)
    return 1 if status == BatchStatus.FAILED.value else 0


def _wait(batches: Batches, batch_id: str, item: dict[str, Any] | None, console: Console) -> tuple[str, dict | None]:
    """The batch's progress under a bar until it ends; its last (status, item)."""
    status = BatchStatus.RUNNING.value
    with Progress(
        TextColumn("batch {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bars:
        task = bars.add_task(batch_id[:8], total=None, detail="")
        while status == BatchStatus.RUNNING.value:
            numbers = counts(item or {})
            bars.update(
                task,
                total=numbers["total"] or None,
                completed=numbers["ready"] + numbers["failed"],
                detail=f"{numbers['ready']} ready, {numbers['failed']} failed, {numbers['running']} running",
            )
            time.sleep(POLL_S)
            status, item = batches.status(batch_id)
    return status, item


class Batches:
    """The BatchConvert state machine and its batch table, through boto3."""

    def __init__(self, sfn: Any, table: Any, state_machine_arn: str, s3: Any = None, reports_bucket: str | None = None):
        self.sfn = sfn
        self.table = table
        self.state_machine_arn = state_machine_arn
        self.s3 = s3
        self.reports_bucket = reports_bucket  # where the batches' reports are (None: not told)

    @classmethod
    def connect(cls, state_machine_arn: str | None = None) -> Batches:
        import boto3  # the command line's other commands need no AWS SDK

        sfn = boto3.client("stepfunctions")
        try:
            if state_machine_arn is None:
                state_machine_arn = find_state_machine(sfn)
            tags = sfn.list_tags_for_resource(resourceArn=state_machine_arn)["tags"]
        except sfn.exceptions.ClientError as error:
            raise BatchError(f"cannot reach Step Functions: {error}") from None
        except Exception as error:  # noqa: BLE001 - no credentials, no endpoint: say so in one line
            raise BatchError(f"cannot reach AWS: {error}") from None
        tagged = {tag["key"]: tag["value"] for tag in tags}
        if BATCHES_TABLE_TAG not in tagged:
            raise BatchError(f"{state_machine_arn} has no {BATCHES_TABLE_TAG} tag: is it SurroundYou's BatchConvert?")
        table = boto3.resource("dynamodb").Table(tagged[BATCHES_TABLE_TAG])
        return cls(sfn, table, state_machine_arn, boto3.client("s3"), tagged.get(REPORTS_BUCKET_TAG))

    def failures(self, item: dict[str, Any] | None) -> list[str]:
        """``key: reason`` of each song the batch's report lists as failed, in key order (none before the
        report is written); a report that cannot be read says so in the one line."""
        item = item or {}
        if self.s3 is None or self.reports_bucket is None or not (item.get("manifestKey") or item.get("reportPrefix")):
            return []
        manifest_key = item.get("manifestKey")
        try:
            # a batch past its failure budget ends before the map hands over the manifest's key
            manifest_key = manifest_key or self._manifest_under(item["reportPrefix"])
            if manifest_key is None:
                return []
            manifest = self._report(manifest_key)
            failed = [
                execution
                for part in manifest["ResultFiles"].get("FAILED", [])
                for execution in self._report(part["Key"])
            ]
        except Exception as error:  # noqa: BLE001 - the counts still stand: say why the names are missing
            return [f"the report s3://{self.reports_bucket}/{manifest_key} could not be read ({error})"]
        return sorted(f"{_song_key(execution)}: {_reason(execution)}" for execution in failed)

    def _manifest_under(self, prefix: str) -> str | None:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.reports_bucket, Prefix=prefix)
        keys = [
            obj["Key"] for page in pages for obj in page.get("Contents", []) if obj["Key"].endswith("/manifest.json")
        ]
        return max(keys, default=None)

    def _report(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=self.reports_bucket, Key=key)["Body"].read())

    def execution_arn(self, batch_id: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{batch_id}"

    def start(self, batch_id: str, request: dict[str, Any]) -> str:
        try:
            self.sfn.start_execution(stateMachineArn=self.state_machine_arn, name=batch_id, input=json.dumps(request))
        except self.sfn.exceptions.ClientError as error:
            raise BatchError(f"the batch could not start: {error}") from None
        return batch_id

    def status(self, batch_id: str) -> tuple[str, dict[str, Any] | None]:
        """The execution's status (RUNNING, SUCCEEDED, FAILED; TIMED_OUT and ABORTED count as FAILED)
        and the batch item (None until StartBatch made it)."""
        try:
            execution = self.sfn.describe_execution(executionArn=self.execution_arn(batch_id))
        except self.sfn.exceptions.ExecutionDoesNotExist:
            raise BatchError(f"there is no batch {batch_id}") from None
        item = self.table.get_item(Key={"batchId": batch_id}, ConsistentRead=True).get("Item")
        status = execution["status"]
        if status not in (BatchStatus.RUNNING.value, BatchStatus.SUCCEEDED.value):
            status = BatchStatus.FAILED.value
        return status, item


def _song_key(execution: dict[str, Any]) -> str:
    """The library key a failed child execution converted: its input's ``key`` (the map's item as the
    child got it), or ``Key`` (the listed object, as moto's result files hold it)."""
    try:
        song = json.loads(execution.get("Input") or "{}")
        return str(song.get("key") or song["Key"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return "(a song)"


def _reason(execution: dict[str, Any]) -> str:
    """A failed child's Cause without its "job <id>: " prefix (the job's own message), else its Error."""
    cause = execution.get("Cause") or execution.get("Error") or "failed"
    return cause.split(": ", 1)[1] if cause.startswith("job ") and ": " in cause else cause


def find_state_machine(sfn: Any) -> str:
    machines = [
        machine["stateMachineArn"]
        for page in sfn.get_paginator("list_state_machines").paginate()
        for machine in page["stateMachines"]
        if machine["name"].endswith(STATE_MACHINE_SUFFIX)
    ]
    if len(machines) != 1:
        found = ", ".join(machines) or "none"
        raise BatchError(f"give --state-machine: state machines named *{STATE_MACHINE_SUFFIX}: {found}")
    return machines[0]
