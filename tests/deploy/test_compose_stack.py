"""The container for real: build the image with compose, put the demo's store in the volume, start
the stack, wait until it is healthy, create a key inside the container and make a keyed request
from outside, then tear everything down. Needs a container runtime: skipped, with the reason,
where `docker info` fails (no engine running), compose is missing or the base image cannot be had."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from container_files import instructions

from fixtures.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def no_runtime() -> str | None:
    """Why the stack cannot run here, or None."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        said = (info.stderr.strip().splitlines() or [""])[-1][:200]
        return f"no container runtime answers (`docker info` exited {info.returncode}: {said})"
    compose = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True,
                             timeout=60)
    if compose.returncode != 0:
        return "`docker compose` is not installed (the compose plugin)"
    base = next(i.arguments for i in instructions(ROOT / "Dockerfile") if i.keyword == "FROM")
    have = subprocess.run(["docker", "image", "inspect", base], capture_output=True, timeout=60)
    if have.returncode != 0 and subprocess.run(["docker", "pull", base], capture_output=True,
                                               timeout=900).returncode != 0:
        return f"the base image {base} is neither here nor pullable (no registry reachable)"
    return None


class Stack:
    def __init__(self, project: str, port: int):
        self.port = port
        self.base = ["docker", "compose", "--project-name", project, "--project-directory",
                     str(ROOT), "--file", str(ROOT / "compose.yaml")]
        self.env = {**os.environ, "RESOLVER_HOST_PORT": str(port)}

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True, env=self.env,
                              timeout=timeout)
        assert done.returncode == 0, f"compose {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        return done


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    reason = no_runtime()
    if reason:
        pytest.skip(reason)
    up = Stack(f"resolvertest{os.getpid()}", free_port())
    try:
        up.run("build", timeout=1800)
        # the volume needs a store before the server starts: the demo's, made in the image
        up.run("run", "--rm", "--no-deps", "resolver", "demo", "--workdir", "/data", timeout=1800)
        up.run("up", "--detach", "--wait", "--wait-timeout", "600", timeout=900)
        yield up
    finally:
        subprocess.run([*up.base, "down", "--volumes", "--rmi", "local", "--timeout", "30"],
                       capture_output=True, env=up.env, timeout=300)


def test_the_stack_becomes_healthy(stack: Stack) -> None:
    deadline = time.monotonic() + 60
    while True:
        state = stack.run("ps", "--format", "{{.Health}}", "resolver").stdout.strip()
        if state == "healthy" or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert state == "healthy"
    health = httpx.get(f"http://127.0.0.1:{stack.port}/health", timeout=10).json()
    assert health["status"] == "ok" and health["store"] == "master.duckdb"


def test_a_key_made_inside_the_container_answers_from_outside(stack: Stack) -> None:
    made = stack.run("exec", "-T", "resolver", "resolver", "keys", "create", "--db",
                     "/data/master.duckdb", "--department", "tax", "--scopes",
                     "enterprise:read,unregistered:read").stdout
    key = re.search(r"^key:\s+(rk_\S+)$", made, re.M)
    assert key is not None, made
    url = f"http://127.0.0.1:{stack.port}/v1/unregistered"
    assert httpx.get(url, timeout=30).status_code == 401
    answer = httpx.get(url, headers={"X-API-Key": key[1]}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"], "the demo store has suspects"


def test_the_skip_reason_is_stated_when_there_is_no_runtime() -> None:
    """Where this suite skips the stack, it says why; where a runtime answers, there is no reason."""
    reason = no_runtime()
    info = subprocess.run(["docker", "info"], capture_output=True, timeout=60) \
        if shutil.which("docker") else None
    if info is None or info.returncode != 0:
        assert reason and ("docker info" in reason or "no docker CLI" in reason)
    else:
        assert reason is None or "compose" in reason
