"""Each job's output goes to its own sink, a line at a time; output of other threads goes
where it always went."""

from __future__ import annotations

import sys
import threading

import typer

from resolver.jobs.capture import captured


def _job(name: str, lines: list[tuple[str, str]], started: threading.Barrier) -> None:
    with captured(lambda stream, line: lines.append((stream, line))):
        started.wait()
        for i in range(200):
            typer.echo(f"{name} out {i}")
            print(f"{name} err {i}", file=sys.stderr)
        print(f"{name} partial", end="", file=sys.stderr)  # completed when the job ends


def test_two_jobs_and_the_server_keep_their_output_apart(capsys) -> None:
    a: list[tuple[str, str]] = []
    b: list[tuple[str, str]] = []
    started = threading.Barrier(3)
    threads = [threading.Thread(target=_job, args=("A", a, started)),
               threading.Thread(target=_job, args=("B", b, started))]
    for t in threads:
        t.start()
    started.wait()
    for _ in range(50):
        print("server line")
    for t in threads:
        t.join()
    for name, lines in (("A", a), ("B", b)):
        assert [line for stream, line in lines if stream == "stdout"] == [f"{name} out {i}" for i in range(200)]
        assert [line for stream, line in lines if stream == "stderr"] == [
            *(f"{name} err {i}" for i in range(200)), f"{name} partial"]
    out = capsys.readouterr()
    assert out.out.splitlines() == ["server line"] * 50 and "out" not in out.err


def test_a_job_is_not_a_terminal() -> None:
    seen: list[bool] = []
    with captured(lambda stream, line: None):
        seen.append(sys.stdout.isatty())
        seen.append(sys.stderr.isatty())
    assert seen == [False, False]
