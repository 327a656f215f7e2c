"""Markdown through markdown-it-py and HTML's visible text: what the regex readers got wrong."""

from __future__ import annotations

from pathlib import Path

from embedlab.ingest.readers import read_document

BUNDLED = Path(__file__).parents[1] / "src" / "embedlab" / "data" / "docs" / "tutorial"


def _md(tmp_path: Path, source: str) -> str:
    path = tmp_path / "doc.md"
    path.write_text(source, encoding="utf-8")
    return read_document(path).text


def _html(tmp_path: Path, source: str) -> str:
    path = tmp_path / "page.html"
    path.write_text(source, encoding="utf-8")
    return read_document(path).text


def test_markdown_code_keeps_angle_brackets_and_tags(tmp_path: Path) -> None:
    text = _md(
        tmp_path,
        "Returns a `List<String>` of names.\n\n"
        "```html\n<b>bold</b> stays\n    indented line\n```\n\n"
        "Plain <b>inline html</b> loses its tags.\n",
    )
    assert "Returns a List<String> of names." in text
    assert "<b>bold</b> stays\n    indented line" in text
    assert "Plain inline html loses its tags." in text


def test_markdown_structures(tmp_path: Path) -> None:
    text = _md(
        tmp_path,
        "Title\n=====\n\n"
        "| name | size |\n|------|-----:|\n| a    | 1    |\n\n"
        "* **bold** and ~~gone~~ words\n* [link text](http://x.example) ![alt text](p.png)\n\n"
        "Then:\n\n"
        "    indented code\n\n"
        "<div class='note'>A <em>raw</em> HTML block</div>\n\n"
        "Escaped \\*stars\\* &amp; entities.\n",
    )
    assert text == (
        "Title\n\nname  size\na  1\n\nbold and gone words\nlink text alt text\n\n"
        "Then:\n\nindented code\n\nA raw HTML block\n\nEscaped *stars* & entities."
    )


def test_html_pre_keeps_indentation(tmp_path: Path) -> None:
    text = _html(
        tmp_path,
        "<p>Before   the\n code.</p><pre>\ndef f():\n    return 1\n\n\n"
        "    # two blank lines above\n</pre><p>After.</p>",
    )
    assert (
        text
        == "Before the code.\n\ndef f():\n    return 1\n\n\n    # two blank lines above\n\nAfter."
    )


def test_html_hidden_and_navigation_text_is_dropped(tmp_path: Path) -> None:
    text = _html(
        tmp_path,
        "<body><nav><a href='/'>Home</a> <a href='/x'>Menu item</a></nav>"
        "<div role='navigation'>Breadcrumbs</div>"
        "<p>Kept <span aria-hidden='true'>icon-glyph</span>words.</p>"
        "<div hidden><p>secret <b>hidden</b> text</p></div>"
        "<p style='display: none'>invisible</p>"
        "<ul><li hidden>skipped item<li>shown item</ul>"
        "<p>Last.</p></body>",
    )
    assert text == "Kept words.\n\nshown item\n\nLast."


def test_bundled_html_code_keeps_its_indentation() -> None:
    """The tutorial pages' code blocks (Sphinx <pre>) keep their indented lines."""
    text = read_document(BUNDLED / "08.05-exception-chaining.html").text
    assert '\n  File "<stdin>", line 2, in <module>\n' in text
    assert '\n...     open("database.sqlite")\n' in text
