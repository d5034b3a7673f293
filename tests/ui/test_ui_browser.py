"""The workbench in a real Chromium (the system's /usr/bin/chromium, driven by Playwright) against a
real `resolver serve` of the demo store: sign in, search, open an entity, filter the 漏管户 list
by an old district name, record an outcome and see the list change (on the page and in the next
`resolver unregistered` run), decide a review pair as different and see the next `resolve` keep
the two apart, Splink's cluster view and waterfall. One browser for the module; every page is
checked at 1366x768 for a horizontal scroll; screenshots go to out/test-artifacts/ui (or
$RESOLVER_TEST_ARTIFACTS)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from ui_support import artifacts_dir

from resolver.access.access_store import open_access
from resolver.access.keys import create_key

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1366, 768



@pytest.fixture(scope="module")
def workbench_key(served) -> str:
    scopes = "enterprise:read,person:read,unregistered:read,unregistered:write,review:read,review:write"
    return create_key(open_access(served.db), "稽查与数据管理", scopes, rate_limit=0)[1]


@pytest.fixture(scope="module")
def page(served, workbench_key):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "needs Debian chromium: run `make system-deps`"
    shots = artifacts_dir()
    print(f"\nworkbench screenshots: {shots}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="zh-CN",
                                      accept_downloads=True)
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        tab.shots = shots  # type: ignore[attr-defined]
        # signing in is the first thing a user does; every test of the module then has a session
        tab.goto(served.url + "/ui/")
        assert "/ui/login" in tab.url
        tab.fill("#api_key", workbench_key)
        tab.click("section.login button[type=submit]")
        assert tab.url == served.url + "/ui/"
        yield tab
        browser.close()


def fits(tab, name: str) -> None:
    """A screenshot as an artefact, and no horizontal scroll at 1366 wide."""
    tab.screenshot(path=str(tab.shots / f"{name}.png"), full_page=True)
    scroll, inner = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{name}: the page scrolls sideways at {WIDTH}px ({scroll} > {inner})"


def api(served, key: str, path: str, **params):
    answer = httpx.get(served.url + path, params=params, headers={"X-API-Key": key}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def cli(served, *args: str) -> subprocess.CompletedProcess[str]:
    """A resolver verb beside the running server (it runs inside the server as a job)."""
    return subprocess.run([sys.executable, "-m", "resolver", *args, "--db", str(served.db)], capture_output=True,
                          text=True, timeout=300)


def test_sign_in_search_and_open_an_entity(served, workbench_key, page):
    fits(page, "01-home")
    entity = api(served, workbench_key, "/v1/enterprise/E000000010")
    page.fill("form.search input[name=q]", entity["golden"]["name"])
    page.click("form.search button")
    assert page.locator("table.list tbody tr").count() >= 1
    fits(page, "02-search")
    page.click(f"table.list a[href='/ui/entity/enterprise/{entity['entity_id']}']")
    assert page.url.endswith(f"/ui/entity/enterprise/{entity['entity_id']}")
    golden = page.locator("table.kv").first.inner_text()
    assert entity["golden"]["name"] in golden and entity["golden"]["uscc"] in golden
    assert page.locator("details.member").count() == entity["size"]
    assert entity["model_version"] in page.inner_text("p.meta")
    fits(page, "03-entity")


def test_worklist_by_old_district_name_and_an_outcome_that_changes_the_list(served, page):
    page.goto(served.url + "/ui/worklist")
    page.fill("#filters input[name=district]", "江干")
    page.click("#filters button[type=submit]")
    assert "江干区已撤销" in page.inner_text("main")
    total = int(page.inner_text("#total"))
    rows = page.locator("tr.case")
    assert total >= 2 and rows.count() == min(total, 50)
    assert all("上城区" in rows.nth(i).inner_text() for i in range(rows.count()))
    fits(page, "04-worklist-jianggan")
    first = rows.first
    entity = first.get_attribute("id").removeprefix("case-")
    first.locator("select[name=status]").select_option("误报")
    first.locator("input[name=reason]").fill("实地核查：该地址为另一家已登记企业")
    first.locator("button[type=submit]").click()
    assert int(page.inner_text("#total")) == total - 1
    assert page.locator(f"#case-{entity}").count() == 0
    assert "江干区已撤销" in page.inner_text("main")  # back on the same filtered list
    fits(page, "05-worklist-after-outcome")
    # the next run of the inspector's list leaves the false alarm out too
    out = Path(served.db).parent / "jianggan.csv"
    done = cli(served, "unregistered", "--district", "江干", "--out", str(out))
    assert done.returncode == 0, done.stderr
    with open(out, encoding="utf-8-sig") as f:
        listed = [row for row in csv.reader(f)][1:]
    assert len(listed) == total - 1 and not any(entity in row for row in listed)
    with page.expect_download() as download:
        page.click("a.button[download]")
    assert download.value.suggested_filename.endswith(".xlsx")


def test_review_decision_different_is_kept_apart_by_the_next_resolve(served, workbench_key, page):
    page.goto(served.url + "/ui/review/enterprise?kind=pair")
    total = int(page.inner_text("#total"))
    together = page.locator("section.item", has_text="当前在同一主体")
    assert together.count() >= 1
    item = together.first
    left, right = item.get_attribute("data-left"), item.get_attribute("data-right")
    entity = item.locator("thead a").first.inner_text()
    fits(page, "06-review")
    item.locator("button[value=different]").click()
    assert int(page.inner_text("#total")) == total - 1
    assert page.locator(f"section.item[data-left='{left}'][data-right='{right}']").count() == 0
    done = cli(served, "resolve", "--domain", "enterprise")
    assert done.returncode == 0, done.stderr
    after = httpx.get(f"{served.url}/v1/enterprise/{entity}", headers={"X-API-Key": workbench_key}, timeout=60).json()
    members = {m["unique_id"] for m in after.get("members", [])}
    assert not {left, right} <= members, f"{left} and {right} still share {entity}"
    page.goto(f"{served.url}/ui/entity/enterprise/{entity}")
    history = page.locator("table.list").last.inner_text()
    assert "拆分" in history and after["model_version"] in history  # the split, with the model version
    fits(page, "07-entity-after-resolve")


def test_splink_cluster_view_and_waterfall_render_offline(served, page):
    blocked: list[str] = []
    page.on("request", lambda r: blocked.append(r.url) if not r.url.startswith(served.url) else None)
    page.goto(f"{served.url}/ui/entity/enterprise/E000000010/cluster")
    chart = page.frame_locator("iframe.chart")
    chart.locator("svg circle").first.wait_for()
    fits(page, "08-cluster-studio")
    page.goto(f"{served.url}/ui/review/enterprise")
    page.locator("section.item a", has_text="瀑布图").first.click()
    page.frame_locator("iframe.chart").locator("svg").first.wait_for()
    fits(page, "09-waterfall")
    assert not [u for u in blocked if not u.startswith(("data:", "blob:", "about:"))], blocked
