"""The gallery framework: the page (Jinja2, escaped), the registry on the page, one progress
display, output permissions, the CLI, and a quick run of one real section."""
from __future__ import annotations

import json
import os
import re
import stat
import sys
import types
from pathlib import Path

import pytest

import reverie.gallery as gallery
from reverie.gallery import Built, Card, Section, Table

REPO = Path(__file__).resolve().parents[1]


def _hand_made(out: Path) -> list[Built]:
    (out / "assets").mkdir(parents=True, exist_ok=True)
    (out / "assets" / "a b.png").write_bytes(b"png")
    (out / "assets" / "a b.json").write_text(json.dumps({"output": "a b.png"}))
    card = Card("<script>alert(1)</script>",
                ["assets/a b.png", "assets/s.wav", "assets/v.mp4", "assets/d.svg",
                 "assets/m.kv", "assets/r.json"],
                {"score": 0.123456, "words": ["x", "<y>"]}, text="ROMEO: <b>" + "x" * 500,
                lead="held-out lite2 sees <tick>",
                tables=[Table(["A : B :: C : ?", "answer"], [["king : queen :: man : ?", "<woman>"]],
                              "analogies & more")])
    return [Built("image", Section("Dreams <i>", "Blurb with <b>tags</b> & more", [card],
                                   mechanisms=["dream"]), 2.0, "", ["dream"]),
            Built("text", None, 1.0, "ValueError: bad <thing>", [])]


def test_page_is_escaped_and_shows_media_tables_and_failures(tmp_path):
    html = gallery.write_page(tmp_path, _hand_made(tmp_path), quick=True).read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>tags</b>" not in html and "Blurb with &lt;b&gt;tags&lt;/b&gt; &amp; more" in html
    assert '<img src="assets/a%20b.png"' in html
    assert '<audio controls preload="none" src="assets/s.wav">' in html
    assert '<video controls loop muted preload="metadata" src="assets/v.mp4">' in html
    for link in ("d.svg", "m.kv", "r.json"):
        assert f'<a href="assets/{link}">{link}</a>' in html
    assert "<img src=\"assets/d.svg\"" not in html
    # the sidecar beside the image is linked; a .json that is itself media is not doubled
    assert '<a class="sidecar" href="assets/a%20b.json">a b.json</a>' in html
    assert '<p class="lead">held-out lite2 sees &lt;tick&gt;</p>' in html
    assert "<caption>analogies &amp; more</caption>" in html
    assert "<th>A : B :: C : ?</th>" in html and "<td>&lt;woman&gt;</td>" in html
    assert "<td>score</td><td>0.1235</td>" in html and "<td>x, &lt;y&gt;</td>" in html
    assert "<pre>ROMEO: &lt;b&gt;" in html
    assert '<p class="failed">failed: ValueError: bad &lt;thing&gt;</p>' in html
    assert "<code>reverie dream</code>" in html  # the section's command, from the registry
    # every table fits its card, long text wraps inside it
    assert "table-layout: fixed" in html and "white-space: pre-wrap" in html
    assert "overflow-wrap: anywhere" in html and "max-width: 100%" in html


def test_every_registered_mechanism_is_shown_by_a_section():
    """Each gallery/<domain>.py names what it shows (`Section(..., mechanisms=[...])` or
    `MECHANISMS = [...]`, read from its source); together they cover the registry and name
    nothing that is not registered."""
    from reverie.core.registry import mechanisms

    registered = {n for n, m in mechanisms().items()
                  if m.name not in {a.name for a in gallery.auto_mechanisms(m.domain, set())}
                  or m.name in gallery.shown_by_sections()}
    declared = {n: set(gallery.declared_mechanisms(n)) for n in gallery.SECTION_MODULES}
    unknown = {n: sorted(d - registered) for n, d in declared.items() if d - registered}
    assert not unknown, f"gallery sections name unregistered mechanisms: {unknown}"
    missing = registered - set().union(*declared.values())
    silent_sections = sorted(n for n, d in declared.items() if not d)
    if missing and silent_sections:  # tolerated while the domain sections are converted
        pytest.skip(f"gallery/{', '.join(silent_sections)} name no mechanisms yet; "
                    f"unshown: {sorted(missing)}")
    assert not missing, f"registered but in no gallery section: {sorted(missing)}"


def test_a_mechanism_no_section_shows_gets_a_card_from_its_registry_examples(tmp_path,
                                                                          monkeypatch):
    """A new mechanism with examples on every required input appears in its domain's
    section, run with its registry's gallery settings, without gallery code of its own."""
    from reverie.core import registry
    from reverie.core.registry import Input, Mechanism

    made = []

    def fake_dream(image=None, config=None, progress=None):
        from reverie.image.deepdream import dream
        made.append((image, config.steps))
        return dream(image, config)

    real = registry.mechanisms()
    new = Mechanism(name="new_dream", title="A new dream <b>", domain="image",
                    summary="a mechanism nobody wrote a card for", paper="-",
                    function="test_gallery:FAKE", config="reverie.image.deepdream:DreamConfig",
                    inputs=(Input("image", "image", "a photo", example="sample:coins"),),
                    outputs=(".png",), gallery={"steps": 3, "quick": {"steps": 1, "octaves": 1}})
    unshown = Mechanism(name="no_examples", title="T", domain="image", summary="s", paper="-",
                        function="x:y", config="reverie.image.deepdream:DreamConfig",
                        inputs=(Input("image", "image", "a photo"),), outputs=(".png",))
    monkeypatch.setattr(registry, "mechanisms",
                        lambda: {**real, "new_dream": new, "no_examples": unshown})
    monkeypatch.setitem(globals(), "FAKE", fake_dream)
    _fake_modules(monkeypatch, {"image": types.SimpleNamespace(
        build=lambda ctx: Section("Image", "b", [Card("hand")], mechanisms=["dream"]))})
    summary = gallery.build_gallery(tmp_path / "g", quick=True, sections=["image"],
                                    cache_dir=tmp_path / "cache", device="cpu")
    assert made == [("sample:coins", 1)]
    assert "new_dream" in summary["mechanisms"]["image"]
    assert "no_examples" not in summary["mechanisms"]["image"]
    html = Path(summary["index"]).read_text()
    assert "A new dream &lt;b&gt;" in html and "assets/new_dream.png" in html
    assert (tmp_path / "g" / "assets" / "new_dream.png").is_file()


def test_declared_mechanisms_read_from_source(tmp_path, monkeypatch):
    source = ('MECHANISMS = ["a", "b"]\n'
              'def build(ctx):\n'
              '    return Section("t", "b", mechanisms=MECHANISMS)\n'
              'def other(ctx):\n'
              '    return Section("t", "b", [], mechanisms=["c", "a"])\n')
    (tmp_path / "fake.py").write_text(source)
    spec = types.SimpleNamespace(origin=str(tmp_path / "fake.py"))
    monkeypatch.setattr(gallery.importlib.util, "find_spec", lambda name: spec)
    assert gallery.declared_mechanisms("fake") == ["a", "b", "c"]


def _fake_modules(monkeypatch, table: dict):
    real = gallery.section_module
    monkeypatch.setattr(gallery, "section_module",
                        lambda name: table[name] if name in table else real(name))


def test_one_progress_display_scoped_to_each_section(tmp_path, monkeypatch):
    def good(ctx):
        for done in (0, 5, 10, 3, 10):  # a second loop from 0 must not move the bar back
            ctx.progress(done, 10, f"step {done}")
        ctx.progress(1, 0, "no total")
        (ctx.out_dir / "d.png").write_bytes(b"png")
        return Section("Good", "plain", [Card("c"), Card("words", media=["w.wav", "d.png"])],
                       mechanisms=["dream"])

    def bad(ctx):
        ctx.progress(1, 2)
        raise ValueError("broken <section>")

    _fake_modules(monkeypatch, {
        "image": types.SimpleNamespace(build=good),
        "draw": types.SimpleNamespace(build=bad)})
    calls = []
    summary = gallery.build_gallery(tmp_path / "g", quick=True, sections=["image", "draw"],
                                    cache_dir=tmp_path / "cache", device="cpu",
                                    progress=lambda d, t, m="": calls.append((d, t, m)))
    expected = gallery.EXPECTED_SECONDS[True]
    total = expected["image"] + expected["draw"]
    done = [d for d, _, _ in calls]
    assert all(t == total for _, t, _ in calls)
    assert done == sorted(done) and done[-1] == total and 0 <= done[0]
    image_part = [d for d, _, m in calls if m.startswith("image (1/2)")]
    assert max(image_part) == expected["image"]  # the section's share, no more
    assert any(m == "image (1/2): step 5" for _, _, m in calls)
    assert any(m.startswith("draw (2/2)") for _, _, m in calls)
    assert summary["failed"] == {"draw": "ValueError: broken <section>"}
    # a failed section still lists what it would show, read from its source
    assert summary["mechanisms"] == {"image": list(dict.fromkeys(["dream", *gallery.declared_mechanisms("image")])),
                                     "draw": gallery.declared_mechanisms("draw")}
    assert summary["examples"]["dream"] == "d.png"  # the section's first image card
    html = Path(summary["index"]).read_text()
    assert "failed: ValueError: broken &lt;section&gt;" in html
    # the next run's shares come from this run's recorded seconds
    again = gallery.expected_seconds(["image", "draw"], True, tmp_path / "g")
    assert again["image"] == max(summary["sections"]["image"], 1.0)
    assert again["draw"] == expected["draw"]  # a failed section's time is not a guide


def test_sections_side_by_side_and_a_crash_fails_only_its_own_section(tmp_path):
    """Two real quick sections in two spawned workers, with every worker killed as soon as
    the words section starts: the crash takes both workers, the sections it
    caught run again one at a time, words (killed again) fails alone and scale is built.
    One progress display only moves forward, to the total; the page keeps page order."""
    import multiprocessing

    calls, lines, kills = [], [], []

    def progress(done, total, message=""):
        calls.append(done)
        if message.startswith("words (1/2)"):  # from its start on
            for p in multiprocessing.active_children():
                kills.append(p.pid)
                p.kill()

    summary = gallery.build_gallery(tmp_path / "g", quick=True, sections=["words", "scale"],
                                    cache_dir=tmp_path / "cache", device="cpu", workers=2,
                                    progress=progress, log=lines.append)
    assert kills and summary["workers"] == 2
    assert list(summary["failed"]) == ["words"]
    assert "the worker running it stopped" in summary["failed"]["words"]
    assert list(summary["sections"]) == ["words", "scale"]
    assert summary["mechanisms"]["words"] == gallery.declared_mechanisms("words")
    html = Path(summary["index"]).read_text()
    assert html.index('id="words"') < html.index('id="scale"')
    expected = gallery.EXPECTED_SECONDS[True]
    assert calls == sorted(calls) and calls[-1] == pytest.approx(expected["words"] + expected["scale"])
    assert lines.count("gallery: words (1/2) ...") == 1
    assert any(line.startswith("gallery: scale (2/2) took") and "FAILED" not in line
               for line in lines)


def test_workers_share_the_free_cores(monkeypatch):
    import torch

    from reverie.core.errors import ReverieError
    from reverie.gallery.parallel import MAX_WORKERS, workers_for

    monkeypatch.setenv("REVERIE_THREADS", "2")
    cpu = torch.device("cpu")
    assert workers_for(None, cpu, 12) == (2, 1)
    assert workers_for(None, torch.device("cuda"), 12) == (1, 2)  # one GPU: in turn
    assert workers_for(8, cpu, 3) == (3, 1)                         # no more than sections
    assert workers_for(1, cpu, 12) == (1, 2)
    monkeypatch.setenv("REVERIE_THREADS", "16")
    assert workers_for(None, cpu, 12) == (MAX_WORKERS, 16 // MAX_WORKERS)
    with pytest.raises(ReverieError, match="workers is 0; give 1 or more"):
        workers_for(0, cpu, 12)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_gallery_files_follow_the_umask(tmp_path, monkeypatch, mask, mode):
    # reverie.io.files reads the umask once at import (os.umask is process-wide), so the
    # test sets both the process umask (folders) and that cached value (files).
    import reverie.io.files as files

    monkeypatch.setattr(files, "_UMASK", mask)
    old = os.umask(mask)
    try:
        summary = gallery.build_gallery(tmp_path / "g", quick=True, sections=[],
                                        cache_dir=tmp_path / "cache", device="cpu")
    finally:
        os.umask(old)
    for path in (Path(summary["index"]), tmp_path / "g" / "gallery.json"):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


def test_cli_section_choices_help_and_json(cli, monkeypatch, capsys):
    from reverie.cli import build_parser

    parser = build_parser(["gallery"])
    sub = next(a for a in parser._actions if a.dest == "command").choices["gallery"]
    for action in sub._actions:
        if action.dest == "help":
            continue
        assert action.help, action.dest
        if action.nargs != 0:  # a flag with a value says its default
            assert "default" in action.help, action.dest
    section = next(a for a in sub._actions if a.dest == "sections")
    assert section.choices == gallery.SECTION_MODULES
    code, _, err = cli("gallery", "--section", "nope")
    assert code == 2 and "invalid choice" in err and len(err.strip().splitlines()) == 1

    def fake_build(out, **kw):  # a section that prints must not spoil --json
        print("noise from a section")
        kw["log"] and kw["log"]("a log line")
        return {"index": f"{out}/index.html", "seconds": 1.0, "budget_seconds": 120,
                "sections": {"image": 1.0}, "failed": {}, "quick": True, "mechanisms": {}}

    monkeypatch.setattr(gallery, "build_gallery", fake_build)
    code, out, err = cli("gallery", "--quick", "--section", "image", "--json", "--no-progress")
    assert code == 0 and json.loads(out)["sections"] == {"image": 1.0}
    assert "noise from a section" in err and "a log line" in err


def test_cli_workers_below_one_is_one_line(cli, tmp_path):
    code, _, err = cli("gallery", "--quick", "--workers", "0", "--out", str(tmp_path / "g"),
                       "--cache", str(tmp_path / "c"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "workers is 0" in err


def test_product_code_never_reads_shared():
    """`../shared` is for tests and benchmarks; product code ships what it needs."""
    pattern = re.compile(r"""["']\.\./shared|["']shared["']""")
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "src" / "reverie").rglob("*.py")
                 if pattern.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"product code looks for ../shared: {offenders}"


_OPENED: list[str] | None = None


def _audit(event, args):
    if _OPENED is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.fsdecode(args[0]))


def test_quick_section_runs_without_shared(tmp_path, monkeypatch):
    """A quick run of the cheapest section from a folder with no ../shared, recording every
    file opened: the page, gallery.json and each output's sidecar are written, and nothing
    under the checkout's ../shared is read."""
    global _OPENED
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    sys.addaudithook(_audit)  # hooks cannot be removed; _OPENED switches this one off
    _OPENED = []
    try:
        summary = gallery.build_gallery("g", quick=True, sections=["image"],
                                        cache_dir=tmp_path / "cache", device="cpu")
    finally:
        opened, _OPENED = _OPENED, None
    shared = str((REPO.parent / "shared").resolve())
    assert any(os.path.abspath(p).startswith(str(work)) for p in opened)  # the hook saw opens
    assert not [p for p in opened if os.path.abspath(p).startswith(shared + os.sep)]
    assert summary["failed"] == {}
    out = work / "g"
    html = (out / "index.html").read_text()
    assert json.loads((out / "gallery.json").read_text())["sections"].keys() == {"image"}
    sidecars = re.findall(r'class="sidecar" href="([^"]+)"', html)
    assert sidecars and all((out / s).is_file() for s in sidecars)
    assert all(json.loads((out / s).read_text()) for s in sidecars)


def test_sections_use_the_zoo_model_when_installed_and_train_their_own_otherwise(
        tmp_path, monkeypatch):
    import torch

    from reverie import zoo
    from reverie.core.config import Config
    from reverie.gallery import GalleryContext, made

    card = {"title": "t", "uses": ["sample_text"], "data": "d", "licence": "CC0",
            "recipe": "reverie x --out {out}", "hardware": "cpu", "steps": 1234,
            "wall_seconds": 600.0, "figures": {"val_loss": 1.3}, "short_budget": {},
            "baseline": {}, "training": {"val_loss": 1.3, "params": 7}}
    zoo.export({"format": "x", "model": {"w": torch.zeros(2)}}, "ready", tmp_path / "zoo", card)
    monkeypatch.setenv("REVERIE_ZOO", str(tmp_path / "zoo"))
    trained = []

    class Result:
        figures, timings = {"steps": 5, "val_loss": 2.0}, {"train": 1.0}

    def train(out):
        trained.append(out)
        Path(out).write_bytes(b"pt")
        Path(out).with_suffix(".json").write_text(json.dumps({"figures": Result.figures}))
        return Result()

    def ctx(quick):
        return GalleryContext(tmp_path / "out", tmp_path / "cache", quick, "cpu")

    path, fig = ctx(False).model("ready", "text", "lm", Config(), train)
    assert path == "model:ready" and not trained  # ready on first use: nothing trains
    assert fig["steps"] == 1234 and fig["params"] == 7
    assert made(fig, "an LSTM", "builtin:x").startswith("model:ready from the zoo")
    path, fig = ctx(False).model("absent", "text", "lm", Config(), train)
    assert len(trained) == 1 and path == str(trained[0]) and fig["zoo"] is None
    assert "here" in made(fig, "an LSTM", "builtin:x")
    path, _ = ctx(True).model("ready", "text", "lm", Config(), train)  # quick: always its own
    assert path != "model:ready"
