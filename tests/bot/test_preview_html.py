"""The HTML preview: every digest as Slack would show it, on one self-contained page, user text escaped."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

from bot.blocks.digest import digest_message
from bot.blocks.preview_html import mrkdwn, preview_page
from jobs.digest import CommentLine
from tests.digest_fixtures import make_digest

ROUND = date(2026, 11, 17)


class Tags(HTMLParser):
    """The page's tags and attributes, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page)
    return parser.found


def page_of(*teams: str, chart: str | None = "charts/support.png") -> str:
    return preview_page("Digests, week 2026-W47", [(t, digest_message(make_digest(team=t)), chart) for t in teams])


def test_a_script_in_a_comment_is_shown_as_text_not_run() -> None:
    comments = [CommentLine("<script>alert(1)</script> & more", None, ROUND)]
    page = preview_page("Preview", [("Support", digest_message(make_digest(comments=comments)), None)])

    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "script" not in {tag for tag, _ in tags(page)}


def test_team_names_are_escaped_in_the_contents_and_the_messages() -> None:
    page = page_of('<img src=x onerror="alert(1)">')
    assert not [attrs for _, attrs in tags(page) if "onerror" in attrs or attrs.get("src") == "x"]
    assert page.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") >= 2


def test_every_team_has_a_message_and_an_entry_in_the_table_of_contents() -> None:
    page = page_of("Support EMEA", "Billing", "Onboarding")
    found = tags(page)
    links = [attrs["href"] for tag, attrs in found if tag == "a"]
    articles = [attrs["id"] for tag, attrs in found if tag == "article"]

    assert links[:3] == ["#digest-1", "#digest-2", "#digest-3"]
    assert articles == ["digest-1", "digest-2", "digest-3"]
    for team in ("Support EMEA", "Billing", "Onboarding"):
        assert f"{team} · week 2026-W47" in page


def test_the_chart_image_follows_each_message_when_there_is_one() -> None:
    with_chart = [attrs for tag, attrs in tags(page_of("Support", chart="charts/team 1.png")) if tag == "img"]
    assert with_chart[0]["src"] == "charts/team 1.png"
    assert "Support" in (with_chart[0]["alt"] or "")
    assert not [tag for tag, _ in tags(page_of("Support", chart=None)) if tag == "img"]


def test_the_page_is_self_contained() -> None:
    page = page_of("Support")
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert not {"script", "link", "iframe"} & {tag for tag, _ in tags(page)}


def test_the_message_shows_the_app_header_fields_quotes_and_dividers() -> None:
    page = page_of("Support")
    assert '<span class="sender">Tandem</span>' in page
    assert '<div class="avatar" aria-hidden="true">T</div>' in page
    assert '<div class="header">Support · week 2026-W47</div>' in page
    assert '<div class="fields">' in page
    assert "<blockquote>The new on-call rota is hard on weekends.</blockquote>" in page
    assert "<hr>" in page


def test_mrkdwn_becomes_html() -> None:
    assert mrkdwn("*Bold* and _italic_ and ~gone~") == "<b>Bold</b> and <i>italic</i> and <s>gone</s>"
    assert mrkdwn("`*raw*` text") == "<code>*raw*</code> text"
    assert mrkdwn("one\ntwo") == "one<br>two"
    assert mrkdwn(">quoted\n> more\nafter") == "<blockquote>quoted<br>more</blockquote>after"
    assert mrkdwn("see <https://example.com/a?b=1&amp;c=2|the *docs*>") == (
        'see <a href="https://example.com/a?b=1&amp;c=2">the <b>docs</b></a>'
    )


def test_slack_entities_are_shown_as_the_characters_they_stand_for() -> None:
    assert mrkdwn("Q&amp;A &lt;b&gt; 5 &gt; 3") == "Q&amp;A &lt;b&gt; 5 &gt; 3"
    assert mrkdwn("&amp;lt;") == "&amp;lt;"


def test_links_that_are_not_web_links_are_shown_without_a_link() -> None:
    assert mrkdwn("<javascript:alert(1)|click>") == "click"
    assert mrkdwn("<!channel> and <@U123|ana>") == "<b>@channel</b> and <b>ana</b>"
