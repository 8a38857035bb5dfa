"""A moto server for tests that run the Fargate task as a process (its own, or in the image): the
media bucket and the jobs table (template.yaml's own definition), and clients for them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import SimpleNamespace

import boto3
from moto.server import ThreadedMotoServer

from surroundyou_jobs.model import DynamoJobStore
from surroundyou_local.provision import create_table


@contextlib.contextmanager
def task_aws(jobs_table_properties: dict, bucket: str, jobs_table: str) -> Iterator[SimpleNamespace]:
    """A moto server on a free local port: ``endpoint``, an ``s3`` client, the job ``store``."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        s3 = session.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket=bucket)
        dynamodb = session.resource("dynamodb", endpoint_url=endpoint)
        create_table(dynamodb.meta.client, jobs_table, jobs_table_properties)
        yield SimpleNamespace(endpoint=endpoint, s3=s3, store=DynamoJobStore(dynamodb.Table(jobs_table)))
    finally:
        server.stop()
