"""Start and stop llama-cpp-python's own OpenAI-compatible server (`python -m llama_cpp.server`)
with the GGUF and settings of the in-process model, on a free local port.

Used by benchmarks/concurrent.py and tests/test_server_backend.py. It needs the packages of
`llama-cpp-python[server]` (seedqa's `test` extra installs them by name, without rebuilding
llama-cpp-python). It serves one request at a time: one llama.cpp context, behind a lock.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import ROOT


@dataclass(frozen=True, slots=True)
class LlamaServer:
    url: str  # the API base, http://127.0.0.1:PORT/v1
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(
    gguf: Path, log: Path, *, n_ctx: int, threads: int, n_batch: int = 512, seed: int = 0, timeout_s: float = 180.0
) -> LlamaServer:
    """The server, once GET /v1/models answers (~4 s here); its output goes to `log`."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--n_threads_batch", str(threads),
        "--n_batch", str(n_batch), "--seed", str(seed),
        # By default any new request (even GET /v1/models) cuts off the answer streaming.
        "--interrupt_requests", "False",
    ]  # fmt: skip
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
    server = LlamaServer(f"http://127.0.0.1:{port}/v1", process, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{server.url}/models", timeout=2) as reply:
                if reply.status == 200:
                    return server
        except OSError:
            time.sleep(0.25)
    stop(server)
    raise RuntimeError(f"llama_cpp.server did not answer within {timeout_s:.0f} s:\n{_tail(log)}")


def stop(server: LlamaServer) -> None:
    """Terminate the server (killed if it does not exit within 10 s); a dead one is left alone."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return ""
