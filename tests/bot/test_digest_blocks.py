"""The weekly digest as a Slack message: the model's content, laid out within Block Kit's limits."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks.digest import digest_message
from jobs.digest import CommentLine
from tests.digest_fixtures import ROUND, line, make_digest


def everything(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def texts(message: dict[str, Any]) -> list[str]:
    """Every text of the message, block by block, field by field."""
    found = []
    for block in message["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [field["text"] for field in block.get("fields", [])]
        found += [element["text"] for element in block.get("elements", []) if "text" in element]
    return found


def block_kit_problems(message: dict[str, Any]) -> list[str]:
    """Slack's documented limits for a message (../shared/reference/slack.md section 5), less one block
    for the chart the notifier adds."""
    found = [] if 0 < len(message["blocks"]) <= 49 else [f"{len(message['blocks'])} blocks"]
    found += [] if message["text"] else ["no fallback text"]
    for block in message["blocks"]:
        if block["type"] == "header" and not 0 < len(block["text"]["text"]) <= 150:
            found.append("header length")
        if block["type"] == "section":
            if not 0 < len(block["text"]["text"]) <= 3000:
                found.append("section text length")
            fields = block.get("fields", [])
            if len(fields) > 10 or any(not 0 < len(f["text"]) <= 2000 for f in fields):
                found.append("section fields")
        if block["type"] == "context" and not 0 < len(block["elements"]) <= 10:
            found.append("context elements")
    if sum(len(text) for text in texts(message)) > 12_000:
        found.append("over the ~13k characters Slack rejects as msg_blocks_too_long")
    return found


def test_a_typical_digest_stays_within_block_kit_limits() -> None:
    assert block_kit_problems(digest_message(make_digest())) == []


def test_forty_drivers_and_five_very_long_comments_still_make_a_valid_message() -> None:
    drivers = [line(f"d{i:02d}", f"A driver with a fairly long name {i}", "score", 3.0, 0.1) for i in range(40)]
    drivers[33] = line("d33", "Workload", "score", 2.1, -1.2, notable=True, good=False)
    comments = [CommentLine("word " * 400 + "&<>" * 300, "workload", ROUND) for _ in range(5)]
    message = digest_message(make_digest(drivers=drivers, comments=comments, team="T" * 300))

    assert block_kit_problems(message) == []
    assert "Workload" in everything(message)  # a notable move is never the one left out
    assert "and 20 more drivers" in everything(message)
    assert message["blocks"][0]["text"]["text"].endswith("… · week 2026-W47")


def test_the_header_names_the_team_and_the_iso_week() -> None:
    header = digest_message(make_digest())["blocks"][0]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "Support EMEA · week 2026-W47"}}


def test_participation_says_how_many_of_how_many_answered() -> None:
    assert "14 of 18 answered (78%)" in texts(digest_message(make_digest()))


def test_an_imported_round_says_who_answered_without_a_rate() -> None:
    found = texts(digest_message(make_digest(asked=None, participation=None)))
    assert "14 answered (imported round: how many were asked is not recorded)" in found


def test_suppressed_cells_say_their_note_instead_of_vanishing() -> None:
    cx = [line("csat", "CSAT", "percent", None, suppressed=True, note="fewer than 3 agents: not shown")]
    found = texts(digest_message(make_digest(cx=cx)))
    assert "*Comment sentiment*\n_not enough answers to show_" in found
    assert any("• Recognition: _not enough answers to show_" in text for text in found)
    assert "*CSAT*\n_fewer than 3 agents: not shown_" in found


def test_a_notable_bad_move_shows_the_warning_marker_and_a_good_one_the_check() -> None:
    found = texts(digest_message(make_digest()))
    assert "*Engagement index*\n*58*  ↓ 6\n⚠️ _clearly below its 12-week average_" in found
    assert "*CSAT*\n*94%*  ↑ 3 pts\n✅ _clearly above its 12-week average_" in found


def test_ordinary_moves_show_an_arrow_and_the_change_without_a_marker() -> None:
    found = texts(digest_message(make_digest()))
    assert "*eNPS*\n+12  → no change" in found
    assert "*Reopen rate*\n8%  ↑ 1 pt" in found
    assert "*Median first response*\n14m  ↓ 1m" in found
    assert any("• Workload: 3.4  ↓ 0.3" in text for text in found)


def test_a_digest_with_everything_missing_still_renders_with_its_missing_notes() -> None:
    notes = [
        "No pulse round of this team closed this week.",
        "No customer outcomes were credited to this team this week.",
    ]
    empty = [line(m.key, m.label, m.kind, None) for m in make_digest().ex]
    no_cx = [line(m.key, m.label, m.kind, None) for m in make_digest().cx]
    digest = make_digest(
        asked=None,
        respondents=0,
        participation=None,
        headline=["Nothing moved beyond this team's usual week-to-week ups and downs."],
        ex=empty,
        drivers=[],
        cx=no_cx,
        comments=[],
        comments_note="no comments this week",
        missing=notes,
    )
    message = digest_message(digest)

    assert block_kit_problems(message) == []
    assert f"_{notes[0]}_\n_{notes[1]}_" in texts(message)
    assert "*Team pulse*\n_No data this week._" in texts(message)
    assert "*Customers*\n_No data this week._" in texts(message)
    assert "No comments this week." in texts(message)


def test_the_link_sentence_appears_when_present() -> None:
    sentence = "In Support EMEA over 26 weeks, weeks when workload dipped came with lower CSAT."
    assert f"*Pulse and customers*\n{sentence}" in texts(digest_message(make_digest(link_sentence=sentence)))


def test_without_a_link_sentence_nothing_is_said_about_it() -> None:
    assert "Pulse and customers" not in everything(digest_message(make_digest()))


def test_comments_are_quoted_and_dated_by_round_at_most_five() -> None:
    comments = [CommentLine(f"Comment {i}\nsecond line", "workload" if i else None, ROUND) for i in range(7)]
    found = texts(digest_message(make_digest(comments=comments)))
    quotes = [text for text in found if text.startswith(">")]

    assert len(quotes) == 5
    assert quotes[0] == ">Comment 0\n>second line\n_round of 17 Nov_"
    assert quotes[1] == ">Comment 1\n>second line\n_round of 17 Nov, about Workload_"


def test_mrkdwn_control_characters_in_comments_are_escaped() -> None:
    comments = [CommentLine("Q&A <!channel> is > nothing <https://x.example|click>", None, ROUND)]
    quote = next(text for text in texts(digest_message(make_digest(comments=comments))) if text.startswith(">"))
    assert quote.splitlines()[0] == ">Q&amp;A &lt;!channel&gt; is &gt; nothing &lt;https://x.example|click&gt;"


def test_a_team_name_or_headline_cannot_ping_anyone() -> None:
    message = digest_message(make_digest(team="<!here> crew", headline=["Ops & <!channel> rose."]))
    assert "<!" not in json.dumps([b for b in message["blocks"] if b["type"] != "header"]) + message["text"]
    assert "Ops &amp; &lt;!channel&gt; rose." in texts(message)


def test_a_long_comment_is_cut_near_500_characters_at_a_word() -> None:
    comments = [CommentLine("lorem ipsum " * 100, None, ROUND)]
    quote = next(text for text in texts(digest_message(make_digest(comments=comments))) if text.startswith(">"))
    said = quote.splitlines()[0]
    assert said.endswith("…")
    assert 400 < len(said) <= 501
    assert said[-2] in "mu"  # the cut ends a word, not half of one


def test_the_comments_note_is_said_when_comments_are_withheld() -> None:
    note = "comments are shown only when at least 5 people answered"
    found = texts(digest_message(make_digest(comments=[], comments_note=note)))
    assert "Comments are shown only when at least 5 people answered." in found


def test_the_last_block_carries_the_privacy_promise_and_how_trends_are_judged() -> None:
    footer = digest_message(make_digest(k=3))["blocks"][-1]
    text = footer["elements"][0]["text"]
    assert footer["type"] == "context"
    assert "Scores appear only when at least 3 people answered; comments from 5." in text
    assert "Nobody, including admins, can see who said what." in text
    assert "2 standard errors" in text
    assert "comments from 7" in digest_message(make_digest(k=7))["blocks"][-1]["elements"][0]["text"]


def test_the_fallback_text_names_team_week_and_the_headline() -> None:
    assert digest_message(make_digest())["text"] == (
        "Support EMEA, week 2026-W47: Engagement index fell to 58, clearly below its 12-week average."
    )
