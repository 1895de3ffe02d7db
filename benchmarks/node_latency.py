"""Reading-to-label latency on the node's WebSocket, classifier invoke time, memory.

Starts a simulated node process on loopback with the default sensor model, listens to
its WebSocket for 1,000 readings, and prints percentiles of the time from each reading
(taken when the sensors were read) to its arrival at the client.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from node.bundle import read_bundle  # noqa: E402
from node.runtime import load_model  # noqa: E402

READINGS = 1000
SAMPLE_RATE_HZ = 50


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    """Return a percentile of a list of values."""
    return float(np.percentile(values, share))


async def websocket_latencies(url: str, token: str) -> list[float]:
    """Return milliseconds from reading to arrival for READINGS readings."""
    latencies: list[float] = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"{url}/api/ws", headers={"Authorization": f"Bearer {token}"}
        ) as socket_,
    ):
        while len(latencies) < READINGS:
            message = await socket_.receive_json(timeout=10)
            if message["type"] != "reading":
                continue
            arrived = datetime.now(UTC)
            taken = datetime.fromisoformat(message["data"]["time"])
            latencies.append((arrived - taken).total_seconds() * 1000)
    return latencies


def resident_memory_mb(pid: int) -> float:
    """Return a process's resident memory in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def invoke_times_ms(model_dir: Path, runs: int = 2000) -> list[float]:
    """Return the time of single invocations of the default sensor model."""
    bundle = read_bundle(model_dir)
    model = load_model(bundle.model_path)
    batch = np.ones((1, len(bundle.metadata.features)), dtype=np.float32)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        model.run(batch)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    """Run the node, measure, print."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "node",
                "--simulate",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                data_dir,
                "--models-dir",
                str(ROOT / "models"),
                "--no-zeroconf",
                "--sample-rate",
                str(SAMPLE_RATE_HZ),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            if process.stdout is not None:
                process.stdout.readline()
            token = (Path(data_dir) / "token").read_text().strip()
            latencies = asyncio.run(
                websocket_latencies(f"http://127.0.0.1:{port}", token)
            )
            memory = resident_memory_mb(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=20)

    invokes = invoke_times_ms(ROOT / "models" / "sensors-default")
    print(
        f"Node on loopback, simulated sensors at {SAMPLE_RATE_HZ} Hz, default sensor model"
    )
    print(
        f"reading-to-client latency over {len(latencies)} readings: "
        f"p50 {percentile(latencies, 50):.2f} ms, p95 {percentile(latencies, 95):.2f} ms, "
        f"max {max(latencies):.2f} ms"
    )
    print(
        f"classifier invoke (LiteRT, 1 thread) over {len(invokes)} runs: "
        f"median {statistics.median(invokes) * 1000:.1f} us, p95 {percentile(invokes, 95) * 1000:.1f} us"
    )
    print(f"node resident memory after the run: {memory:.0f} MiB")


if __name__ == "__main__":
    main()
