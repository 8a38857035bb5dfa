"""The local AWS endpoint: a moto server on 127.0.0.1, configured to execute state machines.

Everything AWS-side of the local stack (the functions, the state machine's service calls, the
task processes, boto3 in a terminal) talks to this one endpoint. Each signs as its own role; the
stack itself and the owner use the account's administrator (ACCESS_KEY_ID), a user allowed
everything, as an owner's own key would be.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from unittest.mock import patch

import boto3
from moto.core.config import default_user_config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from .moto_compat import create_task_network, reset_backends
from .template import REGION

# The administrator's key: fixed, so the owner's shell line stays the same from run to run.
ACCESS_KEY_ID = "AKIASURROUNDYOULOCAL"
SECRET_ACCESS_KEY = "surroundyou-local-secret"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# Anything in the user's own AWS setup that could send a call to a real account.
_REAL_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)

# moto's switches for running state machines and for Lambda without Docker (its documented config).
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


class LocalAws:
    def __init__(self, host: str = "127.0.0.1"):
        self._server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
        # moto's user configuration, set for as long as the server runs (as mock_aws(config=...) does)
        self._config = patch.dict(default_user_config, MOTO_CONFIG)
        self.endpoint_url = ""
        self._administrator = boto3.Session(
            aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY, region_name=REGION
        )

    def start(self) -> None:
        """Start moto and point this process's boto3 (and so the in-process functions) at it."""
        for chatty in ("werkzeug", "botocore", "boto3", "urllib3"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
        reset_backends()
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        for variable in _REAL_AWS_VARIABLES:
            os.environ.pop(variable, None)
        os.environ.update(CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
        # The state machine interpreter calls services at localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(port)
        self._config.start()

    def client(self, service: str) -> Any:
        """A boto3 client of the local endpoint as the administrator, whatever the environment says."""
        return self._administrator.client(service, endpoint_url=self.endpoint_url)

    def resource(self, service: str) -> Any:
        """A boto3 resource of the local endpoint, as the administrator."""
        return self._administrator.resource(service, endpoint_url=self.endpoint_url)

    def process_environment(self) -> dict[str, str]:
        """Where a process outside this one finds the local AWS (a function, a task): endpoint and
        region. Its credentials are its role's, given by whoever starts it."""
        return {"AWS_ENDPOINT_URL": self.endpoint_url, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}

    def owner_environment(self) -> dict[str, str]:
        """The administrator's environment, for the aws CLI or boto3 in the owner's shell."""
        return {"AWS_ENDPOINT_URL": self.endpoint_url, **CREDENTIALS}

    def create_task_network(self) -> dict[str, str]:
        """A VPC, subnet and security group for awsvpc tasks (the template's network parameters)."""
        return create_task_network(self.client("ec2"))

    def stop(self) -> None:
        if self.endpoint_url:
            self._server.stop()
            self._config.stop()
