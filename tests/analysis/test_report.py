"""``triwarn report``: a real replay of the demo scenario (shared, and under a policy that releases nothing)
becomes one self-contained HTML file and a PNG map; the file is opened in Debian's headless chromium where it is
installed and must load nothing but itself."""

from __future__ import annotations

import asyncio
import csv
import json
import re
from pathlib import Path

import pytest

from triwarn.analysis.replay import replay
from triwarn.analysis.report import make_report, map_data, view_groups
from triwarn.benches.bench_web import browser_available, browser_page
from triwarn.cli.main import main as cli
from triwarn.services.runtime.settings import Settings

NO_RELEASE = 'version = 1\ndefault = "none"\n'


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo scenario replayed as fast as possible: shared (default policy) and each nation alone."""
    work = tmp_path_factory.mktemp("report")
    policy = work / "none.toml"
    policy.write_text(NO_RELEASE)
    shared, alone = work / "shared", work / "alone"
    asyncio.run(replay(Settings.load(env={}, scenario="demo", seed=1), speed=None, record_dir=shared))
    asyncio.run(
        replay(Settings.load(env={}, scenario="demo", seed=1, policy_file=str(policy)), speed=None, record_dir=alone)
    )
    return shared, alone


def _embedded(html_text: str) -> dict:
    m = re.search(r'<script type="application/json" id="triwarn-report">(.*?)</script>', html_text, re.S)
    assert m, "no report data in the page"
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_the_report_holds_every_track_of_every_view_and_every_true_object(recordings, tmp_path: Path) -> None:
    shared, _ = recordings
    r = make_report(shared, tmp_path / "r.html", tmp_path / "r.png")
    assert r.html_bytes < 5_000_000
    text = r.html_path.read_text()
    data = _embedded(text)
    with (shared / "picture.csv").open() as f:
        rows = list(csv.DictReader(f))
    for view in ("us", "jp", "kr"):
        assert set(data["views"][view]) == {row["track_id"] for row in rows if row["view"] == view}
        n_rows = sum(len(v) for v in data["views"][view].values())
        assert n_rows == sum(1 for row in rows if row["view"] == view)
    with (shared / "truth.csv").open() as f:
        assert set(data["truth"]) == {row["object_id"] for row in csv.DictReader(f)}
    # the quality section: SIAP per view and both plots, inlined
    assert "completeness (ideal 1)" in text and text.count("data:image/png;base64,") == 2
    assert "<script src=" not in text and "<link " not in text
    assert r.png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and r.png_path.stat().st_size > 20_000


def test_each_nation_alone_is_compared_with_the_shared_picture(recordings, tmp_path: Path) -> None:
    shared, alone = recordings
    # releasing everything to everyone makes one picture shown three times; releasing nothing, three pictures
    assert view_groups(shared) == [["jp", "kr", "us"]]
    assert view_groups(alone) == [["jp"], ["kr"], ["us"]]
    r = make_report(shared, tmp_path / "r.html", tmp_path / "r.png", singles=alone)
    text = r.html_path.read_text()
    assert "Each nation alone against the shared picture" in text
    objects = set(map_data(shared)["truth"])
    for nation in ("us", "jp", "kr"):
        for obj in objects:
            assert re.search(rf"<tr><td>{nation}</td><td>{re.escape(obj)}</td>", text), (nation, obj)


def test_command_line(recordings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared, _ = recordings
    out = tmp_path / "x.html"
    assert cli(["report", str(shared), "-o", str(out), "--png", str(tmp_path / "x.png")]) == 0
    assert out.is_file() and "wrote" in capsys.readouterr().out
    assert cli(["report", str(tmp_path / "nothing")]) == 2
    other = tmp_path / "other"
    other.mkdir()
    for f in ("truth.csv", "picture.csv", "warnings.csv"):
        (other / f).write_text((shared / f).read_text())
    (other / "meta.json").write_text(json.dumps({**json.loads((shared / "meta.json").read_text()), "seed": 99}))
    assert cli(["report", str(shared), "--singles", str(other), "-o", str(out)]) == 1
    assert "same scenario and seed" in capsys.readouterr().err


@pytest.mark.skipif(
    not browser_available(),
    reason="needs Debian's chromium (apt-get install chromium) and playwright (the dev extra)",
)
def test_the_report_plays_back_in_a_browser_with_no_request_but_itself(recordings, tmp_path: Path) -> None:
    shared, alone = recordings
    r = make_report(shared, tmp_path / "r.html", tmp_path / "r.png", singles=alone)
    requests: list[str] = []
    with browser_page(requests) as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(r.html_path.as_uri())
        page.wait_for_function("document.querySelectorAll('path.trk').length >= 1", timeout=30_000)
        label = page.text_content("#tlabel")
        page.click("#play")
        page.wait_for_function(f"document.getElementById('tlabel').textContent !== {json.dumps(label)}")
        page.click("#play")
        page.select_option("#view", "kr")
        page.wait_for_function("document.querySelectorAll('path.hist').length >= 1")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert not errors, errors
    assert requests == [r.html_path.as_uri()]
