"""`tandem demo` on a fresh machine: no settings, no Slack, no network; the real digest job, once per team."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli_runner import run_tandem


def test_the_demo_prints_every_digest_and_writes_charts_and_a_slack_like_page(tmp_path: Path) -> None:
    result = run_tandem("demo", "--dir", "out", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "out"
    with sqlite3.connect(folder / "tandem-demo.db") as db:
        teams = [name for (name,) in db.execute("select name from teams order by name")]
        posted = db.execute("select count(*) from team_digests where status = 'posted'").fetchone()[0]
    assert len(teams) == 8 and posted == 8  # the real job claimed and "posted" one digest per team

    for team in teams:
        assert f"{team} · week" in result.stdout
    legal = result.stdout.split("Legal · week", 1)[1].split("Scores appear", 1)[0]
    assert "not enough answers to show" in legal  # 3 people, k = 5
    assert "Support EMEA hits a workload crunch" in result.stdout
    assert str(folder / "index.html") in result.stdout

    page = (folder / "index.html").read_text(encoding="utf-8")
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) == 8 and all(png.read_bytes().startswith(b"\x89PNG") for png in pngs)
    assert all(f'src="{png.name}"' in page for png in pngs)
    message = json.loads((folder / "support-emea.json").read_text(encoding="utf-8"))
    assert message["blocks"][0]["type"] == "header" and len(message["blocks"]) <= 50

    again = run_tandem("demo", "--dir", "out", cwd=tmp_path, timeout=120)  # starts over, same story
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("· week") == result.stdout.count("· week") == 8
