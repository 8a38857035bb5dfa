"""One readable terminal line per job transition, read from the jobs table's stream.

The stream (NEW_AND_OLD_IMAGES) sees every write in order, whoever makes it (the API, validation,
the task, notification), so no transition is missed however quickly they follow each other:

    18:45:11  3f2a1b9c  AWAITING_UPLOAD  song.mp3  (preset classic, mp3)
    18:45:12  3f2a1b9c  QUEUED           song.mp3
    18:45:13  3f2a1b9c  PROCESSING       song.mp3
    18:45:19  3f2a1b9c  READY            song.mp3  -> song.8d.mp3, 6.0 s, 241 kB
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, TextIO

from boto3.dynamodb.types import TypeDeserializer

logger = logging.getLogger(__name__)
POLL_INTERVAL_S = 0.2
_deserialize = TypeDeserializer().deserialize


def _plain(image: dict[str, Any] | None) -> dict[str, Any]:
    return {name: _deserialize(value) for name, value in (image or {}).items()}


def transition_line(old: dict[str, Any], new: dict[str, Any], now: datetime) -> str | None:
    """The line for one stream record (plain images), or None when the status did not change."""
    status = new.get("status")
    if not status or status == old.get("status"):
        return None
    filename = new.get("filename", "")
    line = f"{now:%H:%M:%S}  {new['jobId'][:8]}  {status:<15}  {filename}"
    if status == "AWAITING_UPLOAD":
        options = new.get("options") or {}
        line += f"  (preset {options.get('preset', '?')}, {options.get('format', '?')})"
    elif status == "READY":
        result = new.get("result") or {}
        line += (
            f"  -> {PurePosixPath(str(result.get('outputKey', ''))).name}, "
            f"{float(result.get('durationS', 0)):.1f} s, {int(result.get('sizeBytes', 0)) / 1000:.0f} kB"
        )
    elif status == "FAILED":
        error = new.get("error") or {}
        line += f"  {error.get('code', '?')}: {error.get('message', '')}"
    return line


class JobLog:
    def __init__(self, stream_arn: str, streams_client: Any, out: TextIO, clock: Callable[[], datetime] = datetime.now):
        self.stream_arn = stream_arn
        self.client = streams_client
        self.out = out
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="job-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _follow(self) -> None:
        iterators: dict[str, str | None] = {}
        while True:
            stopping = self._stop.is_set()  # one last read after stop(): the final transitions
            try:
                self._read(iterators)
            except Exception:  # noqa: BLE001 - the log must outlive a hiccup of the endpoint
                logger.exception("job log: reading the stream failed")
            if stopping:
                return
            self._stop.wait(POLL_INTERVAL_S)

    def _read(self, iterators: dict[str, str | None]) -> None:
        for shard in self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]:
            if shard["ShardId"] not in iterators:
                iterators[shard["ShardId"]] = self.client.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        for shard_id, iterator in list(iterators.items()):
            if iterator is not None:
                answer = self.client.get_records(ShardIterator=iterator)
                iterators[shard_id] = answer.get("NextShardIterator")
                for record in answer["Records"]:
                    self._print(record["dynamodb"])

    def _print(self, change: dict[str, Any]) -> None:
        line = transition_line(_plain(change.get("OldImage")), _plain(change.get("NewImage")), self.clock())
        if line:
            self.out.write(line + "\n")
            self.out.flush()


def stream_arn_of(table: str, dynamodb_client: Any) -> str:
    return dynamodb_client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
