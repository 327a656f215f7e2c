"""Rebuild src/embedlab/data/docs/ from the Python 3.11 tutorial (apt-get install python3.11-doc).

One document per section of the tutorial (a chapter without sections is one document),
numbered as the tutorial numbers them: ``04.7-more-on-defining-functions.md``. Most are
plain text, the chapters on control flow and data structures are Markdown, and the
chapters on input/output and errors stay HTML (the section cut out of Sphinx's page), so
that the demo exercises every reader of ``embedlab.ingest``. The chapter's introduction
goes with its first section. Output is deterministic: rerunning rewrites the same bytes.

    python scripts/make_sample_docs.py            # writes src/embedlab/data/docs/tutorial/
    python scripts/make_sample_docs.py --out /tmp/docs

The documents go to ``OUT/tutorial/`` and the licence to ``OUT/LICENSE-PSF.txt``, apart, so
that indexing the ``tutorial`` folder indexes the tutorial only. ``OUT/README.md`` is
written by hand and left alone.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

HTML_ROOT = Path("/usr/share/doc/python3.11/html")
OUT = Path(__file__).resolve().parents[1] / "src" / "embedlab" / "data" / "docs"
ONLINE = "https://docs.python.org/3.11/"
# The tutorial's chapters in its own order (tutorial/index.html), and the format each is written in.
CHAPTERS = {
    "appetite": "txt",
    "interpreter": "txt",
    "introduction": "txt",
    "controlflow": "md",
    "datastructures": "md",
    "modules": "txt",
    "inputoutput": "html",
    "errors": "html",
    "classes": "txt",
    "stdlib": "txt",
    "stdlib2": "txt",
    "venv": "txt",
    "whatnow": "txt",
    "interactive": "txt",
    "floatingpoint": "txt",
    "appendix": "txt",
}
WIDTH = 88
_SECTION_TAG = re.compile(r"<section\b[^>]*>|</section>")
_HEADERLINK = re.compile(r'<a class="headerlink"[^>]*>.*?</a>')
_HREF = re.compile(r'href="([^"#:]*\.html)?(#[^"]*)?"')
_BLOCKS = {"p", "pre", "li", "dt", "dd", "h1", "h2", "h3", "h4", "tr", "aside", "div", "dl"}


class _TextWriter(HTMLParser):
    """Sphinx HTML to plain text or light Markdown: headings, paragraphs, lists, code."""

    def __init__(self, markdown: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.markdown = markdown
        self.blocks: list[str] = []
        self.buf: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [is_ordered, items so far]
        self.prefix = ""  # marker for the next block of the current list item
        self.heading = 0
        self.pre = 0
        self.code = 0
        self.skip = 0
        self.term = 0  # inside <dt>: a method signature, whose parameters stay unmarked

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a block (flushing the text before it) or an inline marker."""
        if tag in ("script", "style"):
            self.skip += 1
        if self.skip:
            return
        if tag in _BLOCKS:
            self._flush()
        if tag in ("ul", "ol"):
            self._flush()
            self.lists.append([tag == "ol", 0])
        elif tag == "li" and self.lists:
            self.lists[-1][1] += 1
            ordered, n = self.lists[-1]
            self.prefix = f"{n}. " if ordered else "- "
        elif tag in ("h1", "h2", "h3", "h4"):
            self.heading = int(tag[1])
        elif tag == "pre":
            self.pre += 1
        elif tag == "code" and not self.pre:
            self.code += 1
            if self.markdown:
                self.buf.append("`")
        elif tag in ("em", "strong") and self.markdown and not (self.code or self.term):
            self.buf.append("*" if tag == "em" else "**")
        elif tag == "dt":
            self.term += 1
        elif tag == "br":
            self.buf.append("\n")

    def handle_endtag(self, tag: str) -> None:
        """Close what handle_starttag opened."""
        if tag in ("script", "style"):
            self.skip -= 1
        if self.skip:
            return
        if tag == "code" and self.code:
            self.code -= 1
            if self.markdown:
                self.buf.append("`")
        elif tag in ("em", "strong") and self.markdown and not (self.code or self.term):
            self.buf.append("*" if tag == "em" else "**")
        elif tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
        elif tag == "pre":
            self._flush_pre()
            self.pre -= 1
        elif tag in _BLOCKS:
            self._flush()
            if tag.startswith("h") and tag[1:].isdigit():
                self.heading = 0
            self.term -= tag == "dt"
        if tag == "td":
            self.buf.append(" | ")

    def handle_data(self, data: str) -> None:
        """Text, kept verbatim inside <pre>, else with runs of white space as one space."""
        if not self.skip:
            self.buf.append(data if self.pre else re.sub(r"\s+", " ", data))

    def _indent(self) -> str:
        return "   " * max(0, len(self.lists) - 1)

    def _flush(self) -> None:
        """End the current block of running text."""
        text = re.sub(r" *\n *", "\n", "".join(self.buf)).strip()
        self.buf = []
        if not text:
            return
        text = text.replace("¶", "")
        if self.heading:
            text = " ".join(text.split())
            if self.markdown:
                self.blocks.append("#" * self.heading + " " + text)
            else:
                self.blocks.append(text + "\n" + "=-~^"[self.heading - 1] * len(text))
            return
        indent = self._indent()
        lead = indent + self.prefix if self.lists else ""
        rest = indent + " " * len(self.prefix) if self.lists else ""
        lines = [
            textwrap.fill(
                part,
                WIDTH,
                initial_indent=lead,
                subsequent_indent=rest,
                break_long_words=False,
                break_on_hyphens=False,
            )
            for part in text.split("\n")
        ]
        self.blocks.append("\n".join(lines))
        self.prefix = " " * len(self.prefix)  # later blocks of the same item line up under it

    def _flush_pre(self) -> None:
        """End a code block: fenced in Markdown, indented in plain text."""
        code = "".join(self.buf).strip("\n")
        self.buf = []
        if not code.strip():
            return
        indent = self._indent() + (" " * len(self.prefix) if self.lists else "")
        if self.markdown:
            lang = "pycon" if code.lstrip().startswith(">>>") else ""
            body = f"```{lang}\n{code}\n```"
            self.blocks.append(textwrap.indent(body, indent) if indent else body)
        else:
            self.blocks.append(textwrap.indent(code, indent + "    ", lambda _: True))

    def text(self) -> str:
        """Everything written so far, blocks apart by blank lines."""
        self._flush()
        out = "\n\n".join(self.blocks)
        return re.sub(r"[ \t]+\n", "\n", out).strip() + "\n"


def _section_spans(page: str) -> list[tuple[int, int, int]]:
    """(depth, start, end) of every <section> element of a page, in document order."""
    spans, stack = [], []
    for match in _SECTION_TAG.finditer(page):
        if match.group().startswith("</"):
            start = stack.pop()
            spans.append((len(stack) + 1, start, match.end()))
        else:
            stack.append(match.start())
    return sorted(spans, key=lambda span: span[1])


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _absolute_links(fragment: str, page: str) -> str:
    """Point the links of a cut-out section at docs.python.org, where they still resolve."""

    def fix(match: re.Match[str]) -> str:
        target = match.group(1) or page
        folder = "tutorial/" if not target.startswith("../") else ""
        return f'href="{ONLINE}{folder}{target.removeprefix("../")}{match.group(2) or ""}"'

    return _HREF.sub(fix, fragment)


def chapter_documents(name: str) -> list[tuple[str, str]]:
    """(title, HTML fragment) per document of one chapter: its sections, intro on the first."""
    page = (HTML_ROOT / "tutorial" / f"{name}.html").read_text(encoding="utf-8")
    page = _HEADERLINK.sub("", page)
    spans = _section_spans(page)
    _, top_start, top_end = spans[0]
    children = [(s, e) for depth, s, e in spans if depth == 2]
    if not children:
        return [(_title(page[top_start:top_end]), page[top_start:top_end])]
    docs = []
    intro = page[top_start : children[0][0]]
    for i, (start, end) in enumerate(children):
        fragment = page[start:end]
        docs.append((_title(fragment), (intro + fragment + "</section>") if i == 0 else fragment))
    return docs


def _title(fragment: str) -> str:
    """The first heading of a fragment as text: '7.2. Reading and Writing Files'."""
    match = re.search(r"<h([1-4])>(.*?)</h\1>", fragment, re.S)
    if match is None:
        raise SystemExit(f"no heading in {fragment[:200]!r}")
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", match.group(2))).split())


def render(title: str, fragment: str, kind: str, page: str) -> str:
    """A document's file content in its format."""
    if kind == "html":
        body = _absolute_links(fragment, f"{page}.html")
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)} — The Python Tutorial</title>\n</head>\n<body>\n"
            f"{body.strip()}\n</body>\n</html>\n"
        )
    writer = _TextWriter(markdown=kind == "md")
    writer.feed(fragment)
    writer.close()
    return writer.text()


def licence_text() -> str:
    """The documentation's copyright notice, the PSF licence and the 0BSD licence for its code."""
    parts = []
    for page, ids in (
        ("copyright", ["copyright"]),
        (
            "license",
            [
                "psf-license-agreement-for-python-release",
                "zero-clause-bsd-license-for-code-in-the-python-release-documentation",
            ],
        ),
    ):
        text = _HEADERLINK.sub("", (HTML_ROOT / f"{page}.html").read_text(encoding="utf-8"))
        for start, end in ((s, e) for _, s, e in _section_spans(text)):
            match = re.match(r'<section id="([^"]*)"', text[start:end])
            if match and match.group(1) in ids:
                writer = _TextWriter(markdown=False)
                writer.feed(text[start:end])
                parts.append(writer.text())
    head = (
        "The documents in this folder are sections of the Python 3.11 tutorial, from Debian's\n"
        "python3.11-doc package. They are distributed under the terms below.\n"
    )
    return "\n\n".join([head, *parts])


def main() -> None:
    """Write one file per tutorial section, then the licence; print the totals."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not (HTML_ROOT / "tutorial").is_dir():
        raise SystemExit(f"{HTML_ROOT}/tutorial not found: apt-get install python3.11-doc")
    folder = args.out / "tutorial"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*"):
        old.unlink()
    total = count = 0
    for chapter, kind in CHAPTERS.items():
        for title, fragment in chapter_documents(chapter):
            number, _, name = title.partition(" ")
            number = number.rstrip(".").split(".")
            stem = ".".join(f"{int(n):02d}" for n in number)
            path = folder / f"{stem}-{_slug(name)}.{kind}"
            content = render(title, fragment, kind, chapter)
            path.write_text(content, encoding="utf-8")
            total += len(content.encode())
            count += 1
    (args.out / "LICENSE-PSF.txt").write_text(licence_text(), encoding="utf-8")
    print(f"{count} documents, {total / 1024:.0f} KiB -> {folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
