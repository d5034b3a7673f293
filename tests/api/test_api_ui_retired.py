"""The workbench's entity page of a retired master ID names its current successors, through the
chain the API follows (resolver.lookup.history), on the contract tests' server with retired IDs."""

from __future__ import annotations

import re

import httpx


def test_a_retired_id_page_links_its_current_successors(contract_server):
    srv, keys, ids = contract_server
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        token = re.search(r'name="login_token" value="([^"]+)"', client.get("/ui/login").text).group(1)
        assert client.post("/ui/login", data={"api_key": keys.reader, "login_token": token}).status_code == 303
        page = client.get(f"/ui/entity/enterprise/{ids.merged}")
    assert page.status_code == 200
    notice = re.search(r'<div class="notice".*?</div>', page.text, re.S).group(0)
    assert "已停用" in notice and "v-merge" in notice
    linked = re.findall(r'href="/ui/entity/enterprise/(E\d{9})"', notice)
    assert linked == sorted([ids.keeper, ids.last])  # B, and E that took what B split off
