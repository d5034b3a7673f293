"""Reading the Dockerfile and .dockerignore the way docker does, enough for the tests: the
instructions with their arguments, and whether a path of the build context is ignored."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Instruction:
    keyword: str  # upper case: FROM, COPY, CMD
    arguments: str  # the rest of the line, continuation lines joined

    def exec_form(self) -> list[str]:
        """`["a", "b"]` as a list; a shell-form argument is split the way sh would."""
        text = self.arguments.strip()
        return list(json.loads(text)) if text.startswith("[") else shlex.split(text)


def instructions(dockerfile: Path) -> list[Instruction]:
    out: list[Instruction] = []
    pending = ""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not (pending or line.strip()):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        out.append(Instruction(keyword.upper(), arguments.strip()))
    return out


def only(found: list[Instruction], keyword: str) -> Instruction:
    """The last `keyword` instruction (docker uses the last CMD, ENTRYPOINT, HEALTHCHECK)."""
    matching = [i for i in found if i.keyword == keyword]
    assert matching, f"no {keyword} in the Dockerfile"
    return matching[-1]


def ignore_patterns(dockerignore: Path) -> list[str]:
    lines = dockerignore.read_text(encoding="utf-8").splitlines()
    return [line.strip().strip("/") for line in lines if line.strip() and not line.startswith("#")]


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `*` and `?` stay inside one folder, `**` crosses them."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        else:
            out += {"*": "[^/]*", "?": "[^/]"}.get(pattern[i], re.escape(pattern[i]))
            i += 1
    return re.compile(out + r"\Z")


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether `path` (relative to the context, / separated), or a folder above it, is ignored.
    No `!` exceptions are used here, so the last matching pattern need not be tracked."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    assert not any(p.startswith("!") for p in patterns), "exception patterns are not modelled here"
    return any(pattern_regex(p).match(prefix) for p in patterns for prefix in prefixes)
