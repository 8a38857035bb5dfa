"""The Fargate task: one job, one song. Run as ``python -m surroundyou.task`` (the image's entrypoint).

Environment (the task definition and the state machine's container override set it):
    JOB_ID       the job to run (must be QUEUED); everything else about it is in its item
    BUCKET       the media bucket: the upload is read from it and the result written to it
    JOBS_TABLE   the DynamoDB jobs table
boto3 reads AWS_ENDPOINT_URL itself, which is how the local stack and the tests point it elsewhere.

An adapter around the engine: ``run_job`` claims the job (QUEUED -> PROCESSING), converts its song
with progress written into the item, uploads the result and writes the job's ``result``; notify then
moves it to READY. On failure it marks the job FAILED with a reason a person can read.
Logs: one JSON object per line on stdout (Powertools' Logger; CloudWatch Logs keeps each as one event).
"""

from aws_lambda_powertools.logging import Logger

logger = Logger(service="surroundyou-task")
