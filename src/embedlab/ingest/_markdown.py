"""Markdown as plain text, through markdown-it-py's CommonMark parser (tables, strikethrough).

What a reader sees is kept and the markup goes: headings, paragraphs, list items, block
quotes and table cells keep their words; code spans and code blocks keep every character
(``List<String>`` stays whole, indentation stays); links keep their text, images their alt
text; inline HTML tags go, and an HTML block keeps its visible text. Blocks are apart by a
blank line, the items of a tight list and the rows of a table by one line end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["markdown_text"]

_FRONT_TITLE = re.compile(r"^title:\s*[\"']?(.*?)[\"']?\s*$", re.IGNORECASE)
_PARSER: Any = None


def markdown_text(source: str, html_text: Callable[[str], str]) -> tuple[str, str | None]:
    """The text of a Markdown document and its title (front matter's, else the first heading).

    ``html_text`` turns an HTML block into its visible text.

    Example:
        >>> markdown_text("# Use `List<String>`\\n\\n- *one*\\n- two\\n", str)
        ('Use List<String>\\n\\none\\ntwo', 'Use List<String>')
    """
    body, title = _front_matter(source)
    blocks: list[tuple[str, str]] = []  # (text, kind): kind decides the separator before it
    heading = tight = False
    row: list[str] | None = None
    tables = 0
    for token in _parser().parse(body):
        kind = token.type
        if kind == "heading_open":
            heading = True
        elif kind == "heading_close":
            heading = False
        elif kind == "paragraph_open":
            tight = token.hidden  # a tight list's paragraphs are hidden
        elif kind == "paragraph_close":
            tight = False
        elif kind == "table_open":
            tables += 1
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and row is not None:
            blocks.append(("  ".join(row), f"table{tables}"))
            row = None
        elif kind == "inline":
            text = _inline(token.children or [])
            if row is not None:
                row.append(" ".join(text.split()))
            elif text.strip():
                if heading and title is None:
                    title = " ".join(text.split())
                blocks.append((text, "tight" if tight else "block"))
        elif kind in ("fence", "code_block"):
            blocks.append((token.content.rstrip("\n"), "block"))
        elif kind == "html_block":
            text = html_text(token.content)
            if text.strip():
                blocks.append((text, "block"))
    out: list[str] = []
    previous = ""
    for text, kind in blocks:
        if out:
            out.append("\n" if kind == previous and kind != "block" else "\n\n")
        out.append(text)
        previous = kind
    joined = re.sub(r"[ \t]+\n", "\n", "".join(out))
    return joined.strip("\n").rstrip(), title or None


def _parser() -> Any:
    global _PARSER
    if _PARSER is None:
        from markdown_it import MarkdownIt

        _PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return _PARSER


def _inline(children: Sequence[Any]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)  # the alt text
    return "\n".join(line.rstrip() for line in "".join(parts).split("\n"))


def _front_matter(source: str) -> tuple[str, str | None]:
    """The document without its YAML front matter, and the front matter's title."""
    lines = source.split("\n")
    if not lines or lines[0].strip() != "---":
        return source, None
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            found = [m.group(1) for m in map(_FRONT_TITLE.match, lines[1:i]) if m]
            return "\n".join(lines[i + 1 :]), (found[0] if found and found[0] else None)
    return source, None
