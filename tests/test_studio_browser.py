"""Reverie Studio in a real browser: Playwright driving Debian's Chromium.

CI installs chromium (see .ci/run); elsewhere these tests skip when it is missing. With
REVERIE_SCREENSHOTS=DIR the screenshots for the README are written there (docs/).
"""
import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import serve_app

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI"):
        pytest.fail("CI needs Debian's chromium for the studio's browser tests (.ci/run installs it)",
                    pytrace=False)
    pytest.skip("no chromium here (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from reverie.studio.app import Settings, create_app

    folder = tmp_path_factory.mktemp("studio")
    app = create_app(Settings(folder, workers=1, max_upload_mb=1))
    with serve_app(app) as url:
        yield url, folder, app


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.requests_seen = []
    context.on("request", lambda r: pg.requests_seen.append(r.url))  # every tab of the test
    yield pg
    hosts = {urlparse(u).hostname for u in pg.requests_seen if not u.startswith(("data:", "blob:"))}
    assert hosts <= {"127.0.0.1"}, f"the page asked other hosts: {hosts}"
    context.close()


def shoot(pg, name):
    folder = os.environ.get("REVERIE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(Path(folder) / name), full_page=False)


def fill(pg, values: dict):
    for name, value in values.items():
        pg.fill(f"#f-{name}", str(value))


def test_a_dream_shows_its_output_and_amplified_channels(page, server):
    url, _, _ = server
    page.goto(url + "/")
    page.click("text=DeepDream")
    page.fill("#in-image", "sample:astronaut")
    fill(page, {"size": 160, "octaves": 2, "steps": 4})
    page.click("#run-button")
    page.wait_for_selector("#explain", timeout=60_000)
    assert page.is_visible("img#output")
    explain = page.inner_text("#explain")
    assert "top channels" in explain and "stage5:" in explain
    shoot(page, "studio-dream.png")


def test_perceive_shows_its_verdict_table(page, server):
    url, _, _ = server
    page.goto(url + "/m/perceive")
    page.fill("#in-target", "hammerhead shark")
    # The table is shown whether or not the drawing fools the networks yet: a short budget
    # (200 steps took over 170 s on a loaded CI machine).
    fill(page, {"steps": 30})
    page.click("#run-button")
    page.wait_for_selector("#explain", timeout=170_000)
    explain = page.inner_text("#explain")
    assert "verdicts" in explain and "held-out" in explain and "lite2" in explain
    shoot(page, "studio-perceive.png")


def test_bad_uploads_get_clear_messages(page, server, tmp_path):
    url, _, _ = server
    page.goto(url + "/m/dream")
    page.fill("#in-image", "")
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture at all")
    page.set_input_files("input[name=image__file]", str(notes))
    page.click("#run-button")
    page.wait_for_selector("#form-error:not([hidden])")
    assert "not an image" in page.inner_text("#form-error")
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (1024 * 1024 + 100))
    page.set_input_files("input[name=image__file]", str(big))
    page.click("#run-button")
    page.wait_for_function("document.querySelector('#form-error').textContent.includes('limit')")
    assert "limit" in page.inner_text("#form-error")


def test_two_jobs_queue_and_finish_in_order(page, server):
    url, _, app = server
    # Each job from a tab of its own, as a user queues them: a job page reloads itself when
    # its job ends, which would cut short a navigation started in that same tab.
    tabs, ids = [page, page.context.new_page()], []
    for tab, seed in zip(tabs, (1, 2)):
        tab.goto(url + "/m/dream")
        tab.fill("#in-image", "sample:coins")
        fill(tab, {"size": 96, "octaves": 1, "steps": 3, "seed": seed})
        tab.click("#run-button")
        tab.wait_for_url("**/jobs/*")
        ids.append(tab.url.rsplit("/", 1)[1])
    tabs[1].wait_for_selector("#explain", timeout=60_000)
    jobs = [app.state.jobs.wait(i) for i in ids]
    assert [j.status for j in jobs] == ["done", "done"]
    assert jobs[0].finished <= jobs[1].started + 1e-3
    history = page.context.new_page()
    history.goto(url + "/history")
    for i in ids:
        assert history.is_visible(f"a[href='/jobs/{i}']")


def test_the_pages_buttons_post_with_the_token(page, server):
    """Cancel and export are forms of the page: the browser's POSTs carry the token and the
    studio's Origin, and work."""
    url, _, app = server
    long = app.state.jobs.submit("dream", {"image": "sample:coins"},
                                 {"size": 128, "octaves": 1, "steps": 400})
    short = app.state.jobs.submit("chat", {"say": ["Men are all alike."]}, {"bot": "eliza"})
    for job in (short, long):
        page.goto(url + f"/jobs/{job.id}")
        page.click("#cancel")
        page.wait_for_selector(".status.cancelled", timeout=30_000)
        assert app.state.jobs.wait(job.id, 30).status == "cancelled"
    page.goto(url + "/history")
    with page.expect_download() as download:
        page.click("#export")
    assert download.value.suggested_filename.endswith(".zip")


def test_uploaded_svg_or_html_runs_no_script(page, server):
    from test_studio import plant_hostile_files
    url, folder, _ = server
    for name in plant_hostile_files(folder):
        page.goto(f"{url}/files/{name}")
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.getAttribute('data-ran')") is None, name


def test_on_a_phone_the_menu_folds_away_and_the_form_comes_first(browser, server):
    url, _, _ = server
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(url + "/m/dream")
    assert page.is_visible("#menu-toggle") and not page.is_visible("#menu-links")
    form_top = page.eval_on_selector("#run", "e => e.getBoundingClientRect().top")
    assert form_top < 844 / 2, f"the form starts {form_top}px down, past the first screen"
    box = page.query_selector("#in-image").bounding_box()
    assert box["height"] >= 40 and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"
    shoot(page, "studio-phone.png")
    page.tap("#menu-toggle")
    assert page.is_visible("#menu-links") and page.is_visible("text=History")
    page.goto(url + "/")
    page.fill("#search", "gatys")
    titles = [t for t in page.locator(".pictures .tile").all() if t.is_visible()]
    assert titles and all("gatys" in t.get_attribute("data-search") for t in titles)
    page.fill("#search", "no such thing at all")
    assert page.is_visible("#search-none")
    context.close()


DROP = """([b64, name]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, {type: "image/png"}));
  return dt;
}"""


def drop_file(pg, data: bytes, name: str):
    import base64
    transfer = pg.evaluate_handle(DROP, [base64.b64encode(data).decode(), name])
    pg.dispatch_event("main", "dragover", {"dataTransfer": transfer})
    pg.dispatch_event("main", "drop", {"dataTransfer": transfer})


def test_dropping_a_reverie_picture_opens_its_form_filled_in(page, server, tmp_path):
    import torch
    from reverie.core.sidecar import SCHEMA
    from reverie.io.embed import embed
    from reverie.io.images import save_image
    url, _, _ = server
    png = save_image(torch.zeros(3, 4, 4), tmp_path / "made.png")
    plain = png.read_bytes()
    embed(png, {"schema": SCHEMA, "mechanism": "dream", "config": {"steps": 7, "jitter": 3},
                "inputs": {"image": {"source": "sample:coins", "sha256": "0" * 64}}})
    page.goto(url + "/history")
    drop_file(page, plain, "plain.png")  # a PNG from elsewhere: one line, the page stays
    page.wait_for_selector("#drop-error:not([hidden])")
    assert "carries no Reverie settings" in page.inner_text("#drop-error")
    drop_file(page, png.read_bytes()[:50], "cut.png")
    page.wait_for_selector("#drop-error:has-text('truncated')")
    drop_file(page, png.read_bytes(), "made.png")
    page.wait_for_url("**/m/dream?draft=*")
    assert page.input_value("#f-steps") == "7" and page.input_value("#f-jitter") == "3"
    assert page.input_value("#in-image") == "sample:coins"
