"""The admin page in a real browser: Debian's Chromium, driven by playwright-core (``admin_page.mjs``), against a
real gateway in front of the emulator, after real traffic from the OpenAI SDK with the master key and with
virtual keys.

The walk signs in (a wrong key and a team key first), reads the charts and the usage table, creates a key
through the form (its secret, shown once, must work against /v1), rotates one, revokes one (which must then get
401), reads the deployments, and checks the session handling. Each test below asserts one part of what the
walk saw. The full-page screenshot is left in tests/e2e/browser/artifacts/admin.png and /tmp/ocigate-admin.png.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.support.browser import BROWSER_DIR, MASTER, MODELS, NodeWalk, Step
from tests.support.servers import ServerThread

SCREENSHOT_COPY = Path("/tmp/ocigate-admin.png")
FORM = {
    "name": "browser-made",
    "team": "qa-form",
    "user": "alice",
    "models": "openai.gpt-oss-120b, xai.*",
    "rpm": 30,
    "tpm": 50000,
    "max_concurrent": 2,
    "budget": 5,
    "unit": "usd",
    "period": "week",
    "expires_in_days": 30,
}


def chat(url: str, secret: str, model: str = MODELS[0], **options: Any) -> Any:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=secret, max_retries=0)
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say hello"}], max_tokens=16, **options
    )


def outcome(url: str, secret: str) -> str:
    """``ok`` when a chat request with ``secret`` succeeds, else the HTTP status it got."""
    try:
        reply = chat(url, secret)
    except openai.APIStatusError as exc:
        return str(exc.status_code)
    return "ok" if reply.choices and reply.usage else "no completion"


@dataclass
class Traffic:
    """The keys made through the API and the usage their requests left."""

    admin: httpx.Client
    team: dict[str, Any]
    rotate: dict[str, Any]
    stale: dict[str, Any]
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Usage rows by key name ("master key" for the master key)."""
    by_model: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def traffic(admin_gateway: ServerThread) -> Iterator[Traffic]:
    url = admin_gateway.url
    admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {MASTER}"}, timeout=10)

    def create(name: str, **fields: Any) -> dict[str, Any]:
        reply = admin.post("/admin/keys", json={"name": name, **fields})
        assert reply.status_code == 201, reply.text
        data: dict[str, Any] = reply.json()
        return data

    team = create("browser-team", team="qa-team", allowed_models=[MODELS[0], MODELS[1]])
    rotate = create("rotate-me", team="qa-team")
    stale = create("stale-key")
    for _ in range(3):
        chat(url, MASTER)
    for _ in range(3):
        chat(url, team["secret"])
    chat(url, team["secret"], MODELS[1])
    for _chunk in chat(url, team["secret"], MODELS[1], stream=True, stream_options={"include_usage": True}):
        pass
    with pytest.raises(openai.PermissionDeniedError):
        chat(url, team["secret"], MODELS[2])  # not among its models: a 403, counted as an error
    chat(url, rotate["secret"], MODELS[2])

    found = Traffic(admin, team, rotate, stale)
    for row in admin.get("/admin/usage", params={"by": "key"}).json()["data"]:
        found.by_key[row["key_name"] or "master key"] = row
    for row in admin.get("/admin/usage", params={"by": "model"}).json()["data"]:
        found.by_model[row["model"]] = row
    yield found
    admin.close()


@dataclass
class Walk:
    steps: NodeWalk
    checks: dict[str, Any]
    seconds: float

    def step(self, name: str) -> Step:
        return self.steps.step(name)


@pytest.fixture(scope="module")
def walk(node: str, chromium: Path, admin_gateway: ServerThread, traffic: Traffic, artifacts: Path) -> Walk:
    """The browser's walk through the page, with the checks made from outside the browser along the way."""
    url = admin_gateway.url
    checks: dict[str, Any] = {}
    secrets: dict[str, str] = {}

    def created(step: Step) -> dict[str, Any]:
        secrets["created"] = step["secret"]
        checks["created_chat"] = outcome(url, step["secret"])
        keys = traffic.admin.get("/admin/keys").json()["data"]
        checks["created_record"] = next((k for k in keys if k["name"] == FORM["name"]), None)
        return {}

    def revoke_behind(step: Step) -> dict[str, Any]:
        reply = traffic.admin.post(f"/admin/keys/{traffic.stale['id']}/revoke")
        checks["stale_revoked"] = reply.status_code
        return {}

    def rotated(step: Step) -> dict[str, Any]:
        checks["rotated_old"] = outcome(url, traffic.rotate["secret"])
        checks["rotated_new"] = outcome(url, step["secret"])
        return {}

    def revoked(step: Step) -> dict[str, Any]:
        checks["revoked_chat"] = outcome(url, secrets.get("created", ""))
        return {}

    config = {
        "url": url,
        "chromium": str(chromium),
        "master": MASTER,
        "teamSecret": traffic.team["secret"],
        "rotateKey": traffic.rotate["name"],
        "staleKey": traffic.stale["name"],
        "form": FORM,
        "artifacts": str(artifacts),
    }
    for old in [*artifacts.glob("*.png"), SCREENSHOT_COPY]:
        old.unlink(missing_ok=True)  # what a failed walk leaves must not pass for this walk's screenshots
    started = time.monotonic()
    steps = NodeWalk(node, BROWSER_DIR / "admin_page.mjs", config).run(
        {"created": created, "revoke_behind": revoke_behind, "rotated": rotated, "revoked": revoked}
    )
    screenshot = artifacts / "admin.png"
    if screenshot.exists():
        shutil.copyfile(screenshot, SCREENSHOT_COPY)
    return Walk(steps, checks, time.monotonic() - started)


def sums(chart: dict[str, Any]) -> dict[str, float]:
    return {d["label"]: d["sum"] for d in chart["datasets"]}


def rows_by_name(rows: list[dict[str, Any]], attribute: str = "keyName") -> dict[str, dict[str, Any]]:
    return {row["data"].get(attribute) or "master key": row for row in rows}


# ---- Served without the browser ------------------------------------------------------------------------


def test_page_is_served_with_a_strict_policy_and_no_inline_script(admin_gateway: ServerThread) -> None:
    page = httpx.get(f"{admin_gateway.url}/admin")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe" not in policy
    html = page.text
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts), scripts
    assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html)
    assert httpx.get(f"{admin_gateway.url}/admin/").status_code == 200

    assets = re.findall(r'(?:src|href)="\?asset=([^"]+)"', html)
    assert {"admin.css", "chart.umd.min.js", "main.js"} <= set(assets)
    for name in assets:
        reply = httpx.get(f"{admin_gateway.url}/admin", params={"asset": name})
        assert reply.status_code == 200, name
        assert reply.headers["content-type"].startswith("text/css" if name.endswith(".css") else "text/javascript")
        assert reply.headers["x-content-type-options"] == "nosniff"
        again = httpx.get(
            f"{admin_gateway.url}/admin", params={"asset": name}, headers={"If-None-Match": reply.headers["etag"]}
        )
        assert again.status_code == 304
    for name in (n for n in assets if n.endswith(".js") and n != "chart.umd.min.js"):
        code = httpx.get(f"{admin_gateway.url}/admin", params={"asset": name}).text
        assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", code), name
    chart = httpx.get(f"{admin_gateway.url}/admin", params={"asset": "chart.umd.min.js"}).text
    assert "Chart.js v4.6.1" in chart[:2000] and "MIT License" in chart[:2000]

    missing = httpx.get(f"{admin_gateway.url}/admin", params={"asset": "../../keys.py"})
    assert missing.status_code == 404
    assert "no file named" in missing.json()["error"]["message"]
    assert httpx.get(f"{admin_gateway.url}/admin/keys").status_code == 401  # the API itself still needs the key


# ---- The browser's walk --------------------------------------------------------------------------------


def test_sign_in_refuses_a_wrong_key_and_a_team_key_with_the_gateways_message(walk: Walk) -> None:
    loaded = walk.step("loaded")
    assert loaded == {"status": 200, "signinVisible": True, "appHidden": True}
    wrong = walk.step("wrong_key")
    assert wrong["error"].startswith("Sign-in failed:")
    assert "not valid" in wrong["error"]
    assert wrong["appHidden"] and wrong["stored"] is None
    team = walk.step("team_key")
    assert "team key" in team["error"] and "master key" in team["error"]
    assert team["appHidden"]
    signed_in = walk.step("signed_in")
    assert signed_in == {"stored": True, "signinHidden": True, "errorHidden": True}


def test_charts_draw_requests_per_day_by_key_and_by_model(walk: Walk, traffic: Traffic) -> None:
    charts = walk.step("charts")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    for chart in (charts["byKey"], charts["byModel"]):
        assert chart["drawn"] and chart["width"] > 300 and chart["height"] > 200
        assert chart["painted"] > 5000  # axes, labels, legend and bars
        assert len(chart["labels"]) == 30 and chart["labels"][-1] == today
        for dataset in chart["datasets"]:
            if dataset["sum"]:
                assert dataset["pixels"] > 20, dataset  # a visible bar in the dataset's colour
    assert sums(charts["byKey"]) == {"browser-team": 6, "master key": 3, "rotate-me": 1}
    assert sums(charts["byModel"]) == {model: row["requests"] for model, row in traffic.by_model.items()}
    assert charts["byKey"]["title"] == "Requests per day, by key"
    assert charts["byModel"]["title"] == "Requests per day, by model"
    assert charts["stats"]["requests"] == "10"
    assert charts["stats"]["errors"] == "1 · 10.0 %"


def test_usage_table_shows_each_keys_totals(walk: Walk, traffic: Traffic) -> None:
    rows = rows_by_name(walk.step("usage_table")["rows"])
    assert set(rows) == {"browser-team", "master key", "rotate-me"}
    team = rows["browser-team"]
    usage = traffic.by_key["browser-team"]
    assert team["fields"] == {
        "requests": "6",
        "errors": "1",
        "tokens": f"{usage['prompt_tokens'] + usage['completion_tokens']:,}",
        "cost": team["fields"]["cost"],
    }
    assert team["fields"]["cost"].startswith("$") and usage["cost_usd"] > 0
    assert team["cells"][1] == f"ogk-{traffic.team['prefix']}…"
    assert team["cells"][2] == "qa-team"
    assert rows["master key"]["fields"]["requests"] == "3"
    assert rows["master key"]["fields"]["errors"] == "0"
    assert rows["rotate-me"]["fields"]["requests"] == "1"


def test_range_and_metric_selectors_redraw_the_charts(walk: Walk, traffic: Traffic) -> None:
    controls = walk.step("controls")
    assert len(controls["days7"]["labels"]) == 7
    assert len(controls["days90"]["labels"]) == 90
    assert len(controls["days30"]["labels"]) == 30
    tokens = controls["tokens"]
    assert tokens["byKey"]["title"] == "Tokens per day, by key"
    expected = {name: row["prompt_tokens"] + row["completion_tokens"] for name, row in traffic.by_key.items()}
    assert sums(tokens["byKey"]) == expected
    assert sum(expected.values()) > 0
    cost = controls["cost"]
    assert cost["byModel"]["title"] == "Cost (USD) per day, by model"
    assert sums(cost["byKey"]) == pytest.approx({name: row["cost_usd"] for name, row in traffic.by_key.items()})
    assert sums(controls["requests"]["byKey"])["browser-team"] == 6


def test_a_key_created_through_the_form_is_shown_once_and_works(walk: Walk) -> None:
    created = walk.step("created")
    assert "name" in created["emptyError"].lower()
    assert all(model in created["modelsHint"] for model in MODELS)
    assert created["secret"].startswith("ogk-") and len(created["secret"]) > 40
    assert "will not be shown again" in created["warning"]
    assert FORM["name"] in created["title"]
    assert created["copied"] == {"button": "Copied", "clipboardMatches": True}
    assert created["formHidden"]
    assert walk.checks["created_chat"] == "ok"

    record = walk.checks["created_record"]
    assert record is not None
    assert (record["team"], record["user"], record["status"]) == ("qa-form", "alice", "active")
    assert record["allowed_models"] == ["openai.gpt-oss-120b", "xai.*"]
    assert (record["rpm"], record["tpm"], record["max_concurrent"]) == (30, 50000, 2)
    assert record["budget"]["amount"] == 5 and record["budget"]["unit"] == "usd"
    assert record["budget"]["period"] == "week"
    assert record["expires_at"] == pytest.approx(time.time() + 30 * 86400, abs=3 * 3600)
    assert created["secret"][4:12] == record["prefix"]

    shown = walk.step("created_row")
    cells = shown["row"]["cells"]
    assert cells[0].split() == [FORM["name"], record["id"]] and cells[1] == record["display"]
    assert cells[2].split() == ["qa-form", "alice"] and cells[3] == "active"
    assert cells[4].split() == ["openai.gpt-oss-120b", "xai.*"]
    assert cells[5].splitlines() == ["30 rpm", "50,000 tpm", "2 concurrent"]
    assert "$5.00 per week" in cells[6] and "$0.00 spent · $5.00 left" in cells[6]
    assert "in 30 days" in cells[7] or "in 29 days" in cells[7]
    assert cells[9].split() == ["Rotate", "Revoke"]
    assert shown["dismissed"] == {"hidden": True, "value": ""}


def test_an_api_error_is_shown_with_its_message(walk: Walk) -> None:
    stale = walk.step("stale_rotate")
    assert walk.checks["stale_revoked"] == 200
    assert "is revoked; create a new key instead" in stale["notice"]
    assert stale["secretHidden"]


def test_rotating_through_the_page_shows_the_new_secret_and_ends_the_old_one(walk: Walk, traffic: Traffic) -> None:
    rotated = walk.step("rotated")
    assert rotated["dialog"]["title"] == "Rotate 'rotate-me'?"
    assert "stops working" in rotated["dialog"]["text"]
    assert rotated["secret"].startswith("ogk-") and rotated["secret"] != traffic.rotate["secret"]
    assert "will not be shown again" in rotated["warning"]
    assert rotated["usagePrefix"] == f"ogk-{rotated['secret'][4:12]}…"  # the usage table follows the new prefix
    assert walk.checks["rotated_new"] == "ok"
    assert walk.checks["rotated_old"] == "401"


def test_revoking_through_the_page_asks_first_and_then_the_key_gets_401(walk: Walk) -> None:
    revoked = walk.step("revoked")
    assert revoked["cancelled"]["title"] == f"Revoke '{FORM['name']}'?"
    assert revoked["statusAfterCancel"] == "active"
    assert "401" in revoked["confirmed"]["text"]
    assert revoked["row"]["fields"]["status"] == "revoked" and revoked["row"]["className"] == "revoked"
    assert revoked["actionsLeft"] == 0
    assert "is revoked" in revoked["notice"]
    assert walk.checks["revoked_chat"] == "401"


def test_deployments_table_shows_each_deployment_and_its_circuit(walk: Walk) -> None:
    rows = rows_by_name(walk.step("deployments")["rows"], "deployment")
    assert set(rows) == {f"oracle/{model}" for model in MODELS}
    for model in MODELS:
        row = rows[f"oracle/{model}"]
        assert row["fields"]["circuit"] == "closed"
        assert model in row["cells"][1] and "us-chicago-1" in row["cells"]


def test_the_key_stays_for_the_tab_and_a_refused_key_returns_to_sign_in(walk: Walk) -> None:
    session = walk.step("session")
    assert session["reloaded"] == {"appVisible": True, "stored": True}
    assert session["signedOut"] == {"appHidden": True, "stored": None}
    refused = walk.step("refused_session")
    assert refused["error"].startswith("The gateway refused the key:") and "not valid" in refused["error"]
    assert refused["appHidden"] and refused["stored"] is None


def test_no_script_error_or_policy_violation_and_a_screenshot(walk: Walk) -> None:
    done = walk.step("done")
    assert done["pageErrors"] == []
    # Chromium logs each refused request; those the walk provokes on purpose are the only errors expected.
    provoked = {"sign-in": ("401", "403"), "refused": ("401",), "stale": ("400",)}
    unexpected = [
        error
        for error in done["consoleErrors"]
        if not any(f"status of {status} " in error["text"] for status in provoked.get(error["phase"], ()))
    ]
    assert unexpected == []
    shot = walk.step("screenshot")
    assert all(overflow <= 0 for overflow in shot["overflow"].values()), shot["overflow"]  # fits 1400 px
    screenshot = Path(shot["path"])
    assert screenshot.stat().st_size > 50_000
    assert SCREENSHOT_COPY.exists()
    print(f"browser walk: {walk.seconds:.1f} s")
