"""What 1000 five-minute songs cost on AWS, from the bench's measurements and bench/aws_prices.toml.

The task: the smallest Fargate size whose memory holds the measured peak RSS with 25 % headroom;
billed seconds = max(one minute, image pull + CPU seconds / vCPUs) (the render is one thread, so a
quarter vCPU takes four times its CPU time); its public IPv4 address for as long. The same CPU
seconds are assumed on ARM64 (measured here on x86_64). FARGATE_SPOT at the file's discount.
The rest of the pipeline (Step Functions, Lambda, HTTP API, S3, DynamoDB, CloudWatch Logs) from the
per-song counts in the same file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

PRICES = Path(__file__).resolve().parent / "aws_prices.toml"
SONGS = 1000
HEADROOM = 1.25


@dataclass(frozen=True)
class CostRow:
    item: str
    usd: tuple[float, float, float, float]  # x86 on-demand, x86 spot, arm64 on-demand, arm64 spot


COLUMNS = ("x86_64 on-demand", "x86_64 FARGATE_SPOT", "ARM64 on-demand", "ARM64 FARGATE_SPOT")


def load_prices(path: Path = PRICES) -> dict:
    return tomllib.loads(path.read_text())


def task_size(peak_rss_mb: float, prices: dict) -> tuple[float, float]:
    """The smallest (vCPU, GB) Fargate size whose memory holds ``peak_rss_mb`` x HEADROOM."""
    need_gb = peak_rss_mb * HEADROOM / 1024
    return next((vcpu, gb) for vcpu, gb in prices["fargate"]["sizes"] if gb >= need_gb)


def billed_s(cpu_s: float, image_mb: float, vcpu: float, prices: dict) -> float:
    fargate = prices["fargate"]
    return max(fargate["minimum_s"], image_mb / fargate["pull_mb_per_s"] + cpu_s / vcpu)


def cost_rows(cpu_s: float, peak_rss_mb: float, image_mb: float, prices: dict | None = None) -> list[CostRow]:
    """USD per 1000 songs, one row per service, the last the total."""
    prices = prices or load_prices()
    vcpu, gb = task_size(peak_rss_mb, prices)
    seconds = billed_s(cpu_s, image_mb, vcpu, prices)
    fargate, song = prices["fargate"], prices["per_song"]
    task = []
    for arch in ("x86_64", "arm64"):
        on_demand = seconds / 3600 * (vcpu * fargate[arch]["vcpu_hour"] + gb * fargate[arch]["gb_hour"]) * SONGS
        task += [on_demand, on_demand * (1 - fargate["spot_discount"])]
    ipv4 = seconds / 3600 * fargate["public_ipv4_hour"] * SONGS
    s3 = prices["s3"]
    gb_month = 2 * song["song_mb"] / 1000 * song["retention_days"] / 30
    rest = {
        "Step Functions (standard)": song["step_function_transitions"]
        * prices["step_functions"]["standard_per_1000_transitions"],
        "Lambda (arm64)": song["lambda_invocations"] * prices["lambda"]["requests_per_million"] / 1000
        + song["lambda_gb_seconds"] * prices["lambda"]["arm64_gb_second"] * SONGS,
        "HTTP API": song["http_api_requests"] * prices["http_api"]["requests_per_million"] / 1000,
        "S3 requests + storage": song["s3_puts"] * s3["put_per_1000"]
        + song["s3_gets"] * s3["get_per_1000"]
        + gb_month * s3["gb_month"] * SONGS,
        "S3 transfer out (the download)": song["song_mb"] / 1000 * s3["transfer_out_gb"] * SONGS,
        "DynamoDB (on-demand)": (
            song["dynamodb_writes"] * prices["dynamodb"]["write_request_units_per_million"]
            + song["dynamodb_reads"] * prices["dynamodb"]["read_request_units_per_million"]
        )
        / 1000,
        "CloudWatch Logs": song["log_kb"] / 1e6 * prices["cloudwatch_logs"]["ingest_gb"] * SONGS,
    }
    rows = [
        CostRow(f"Fargate task {vcpu:g} vCPU / {gb:g} GB, {seconds:.0f} s billed", tuple(task)),
        CostRow("public IPv4 of the task", (ipv4,) * 4),
        *(CostRow(name, (usd,) * 4) for name, usd in rest.items()),
    ]
    totals = tuple(sum(row.usd[i] for row in rows) for i in range(4))
    return [*rows, CostRow(f"total per {SONGS} songs (prices of {prices['as_of']})", totals)]


def format_table(rows: list[CostRow]) -> str:
    """A Markdown table (the README shows it as printed)."""
    lines = ["| $ per 1000 five-minute songs | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    lines += [f"| {row.item} | " + " | ".join(f"{usd:.3f}" for usd in row.usd) + " |" for row in rows]
    return "\n".join(lines)
