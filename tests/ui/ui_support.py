"""Helpers the workbench tests share (imported by name: every test folder has a conftest)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def sign_in(client: httpx.Client, key: str, target: str = "/ui/", headers: dict[str, str] | None = None
            ) -> httpx.Response:
    """Open the sign-in page, send the key; the answer to the POST (303 on success)."""
    page = client.get("/ui/login", params={"next": target}, headers=headers)
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert page.status_code == 200 and token, page.text[:300]
    return client.post("/ui/login", data={"api_key": key, "login_token": token.group(1), "next": target},
                       headers=headers)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def artifacts_dir() -> Path:
    """Where screenshots go: $RESOLVER_TEST_ARTIFACTS or out/test-artifacts (git-ignored)."""
    folder = Path(os.environ.get("RESOLVER_TEST_ARTIFACTS") or ROOT / "out" / "test-artifacts") / "ui"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
