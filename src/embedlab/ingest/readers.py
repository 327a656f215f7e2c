"""Reading documents for ingestion: plain text, Markdown, HTML and PDF, as text and a title.

- ``.txt`` (and any file named explicitly whatever its suffix): UTF-8 (a UTF-8 or UTF-16
  byte-order mark is honoured);
- ``.md`` / ``.markdown``: parsed as CommonMark (markdown-it-py) and rendered as the text a
  reader sees (code kept verbatim, links' text, images' alt text, inline HTML tags dropped);
  the title is the front matter's, else the first heading;
- ``.html`` / ``.htm``: the visible text (no scripts, styles or ``<head>``), paragraphs kept
  apart; the title is ``<title>``, else the first ``<h1>``;
- ``.pdf``: the text of each page through pypdf (the ``ingest`` extra); the title is the
  PDF's own, if it has one.

A file with no title of its own is titled by its name without suffix. A file that is
binary (it holds NUL bytes), not valid UTF-8, or a PDF that pypdf cannot parse raises
:class:`~embedlab.errors.FormatError` naming the file, so a caller can skip it and go on.
Line ends are normalised to ``\\n``; chunk offsets index the text returned here.
"""

from __future__ import annotations

import codecs
import io
import itertools
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from embedlab.errors import FormatError, MissingDependencyError
from embedlab.ingest._markdown import markdown_text

__all__ = ["SUPPORTED_SUFFIXES", "Document", "parse_document", "read_document"]

PDF_PIP = "pip install 'embedlab[ingest]'"
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class Document:
    """A document's extracted text and title; ``kind`` is text, markdown, html or pdf."""

    path: Path
    text: str
    title: str
    kind: str


def read_document(path: str | os.PathLike[str]) -> Document:
    """Read one file as a :class:`Document` (its type from its suffix).

    Example:
        >>> doc = read_document("notes/intro.md")  # doctest: +SKIP
        >>> doc.title, doc.text[:20]  # doctest: +SKIP
        ('Introduction', 'Introduction\\n\\nThis i')
    """
    file = Path(path)
    return parse_document(file, file.read_bytes())


def parse_document(path: Path, data: bytes) -> Document:
    """A :class:`Document` from a file's bytes, read as its suffix says (text if unknown)."""
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower(), "text")
    text, title = _PARSERS[kind](path, data)
    return Document(path=path, text=text, title=title or path.stem, kind=kind)


# -- plain text --------------------------------------------------------------------------------
def _decode(path: Path, data: bytes, encoding: str | None = None) -> str:
    """UTF-8 text (or UTF-16 with a byte-order mark), with ``\\n`` line ends."""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in data[:_SNIFF_BYTES]:
        raise FormatError("binary file (it holds NUL bytes), not text; skipped", path=str(path))
    try:
        text = data.decode(encoding or "utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"not {exc.encoding} text: byte 0x{data[exc.start]:02x} at offset {exc.start} "
            "cannot be decoded; skipped",
            path=str(path),
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _plain(path: Path, data: bytes) -> tuple[str, str | None]:
    return _decode(path, data), None


# -- Markdown ----------------------------------------------------------------------------------
def _markdown(path: Path, data: bytes) -> tuple[str, str | None]:
    """Markdown as plain text (markdown-it-py's parse), and its first heading or front matter."""
    return markdown_text(_decode(path, data), _html_fragment_text)


def _tidy(text: str) -> str:
    """Trailing spaces dropped, runs of blank lines made one, outer blank lines removed."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n").rstrip()


# -- HTML --------------------------------------------------------------------------------------
_HIDDEN = frozenset(
    {"head", "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object"}
)
_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "tr",
        "ul",
    ]
)
_CELLS = frozenset({"td", "th"})
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)


_OPTIONAL_END = frozenset({"li", "p", "dt", "dd", "tr", "td", "th", "option"})
_BOILERPLATE_ROLES = frozenset({"navigation", "search", "banner", "contentinfo"})
_INVISIBLE_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _skipped(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    """Whether an element's text is not the page's own: hidden, or navigation boilerplate."""
    if tag == "nav":
        return True
    values = {name.lower(): (value or "") for name, value in attrs}
    return (
        "hidden" in values
        or values.get("aria-hidden", "").lower() == "true"
        or values.get("role", "").lower() in _BOILERPLATE_ROLES
        or bool(_INVISIBLE_STYLE.search(values.get("style", "")))
    )


class _VisibleText(HTMLParser):
    """Collects the visible text of a page, its <title> and its first <h1>.

    Text under ``hidden``, ``aria-hidden="true"``, ``display: none``, ``<nav>`` and the
    navigation / search / banner / footer landmark roles is left out; ``<pre>`` keeps its
    line breaks and indentation.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[tuple[str, bool]] = []  # (text, inside <pre>)
        self.hidden = 0
        self.skipping: list[str] = []  # open tags of a skipped element (it ends at depth 0)
        self.pre = 0
        self.title_parts: list[str] | None = None
        self.title = ""
        self.h1_parts: list[str] | None = None
        self.h1 = ""

    def _skip_start(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        """Track skipped elements; True while the parser is inside one."""
        if self.skipping:
            if tag in _VOID:
                return True
            if tag == self.skipping[0] and tag in _OPTIONAL_END and len(self.skipping) == 1:
                self.skipping.clear()  # <li hidden>a<li>b: the second item ends the first
            else:
                self.skipping.append(tag)
                return True
        if tag not in _VOID and tag != "body" and _skipped(tag, attrs):
            self.skipping.append(tag)
            return True
        return False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_start(tag, attrs):
            return
        if tag == "title" and not self.title:
            self.title_parts = []
        elif tag == "body":
            self.hidden = 0  # a <head> left open ends where the body starts
        elif tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.parts.append(("\n", bool(self.pre)))
        elif tag in _BLOCKS:
            self.parts.append(("\n\n", False))
            self.pre += tag == "pre"
            if tag == "h1" and not self.h1:
                self.h1_parts = []
        elif tag in _CELLS:
            self.parts.append(("  ", False))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HIDDEN and tag != "title":
            self.handle_starttag(tag, attrs)
            if tag not in _VOID:
                self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag in self.skipping:  # close up to the matching open tag
                del self.skipping[len(self.skipping) - 1 - self.skipping[::-1].index(tag) :]
            return
        if tag == "title" and self.title_parts is not None:
            self.title = " ".join("".join(self.title_parts).split())
            self.title_parts = None
        elif tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self.parts.append(("\n\n", False))
            if tag == "h1" and self.h1_parts is not None:
                self.h1 = " ".join("".join(self.h1_parts).split())
                self.h1_parts = None

    def handle_data(self, data: str) -> None:
        if self.title_parts is not None:
            self.title_parts.append(data)
            return
        if self.hidden or self.skipping:
            return
        if self.h1_parts is not None:
            self.h1_parts.append(data)
        self.parts.append((data, True) if self.pre else (re.sub(r"\s+", " ", data), False))

    def text(self) -> str:
        runs: list[str] = []
        for verbatim, group in itertools.groupby(self.parts, key=lambda part: part[1]):
            run = "".join(text for text, _ in group)
            if verbatim:  # <pre>: line breaks and indentation kept, trailing blanks dropped
                lines = run.removeprefix("\n").split("\n")  # HTML drops <pre>'s first break
                runs.append("\n".join(line.rstrip() for line in lines).strip("\n"))
            else:
                run = re.sub(r"[ \t]*\n[ \t]*", "\n", run)
                runs.append(re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]{3,}", "  ", run)))
        return _join_runs(runs).strip("\n").rstrip()


def _join_runs(runs: list[str]) -> str:
    """Runs of text joined with at most one blank line where two meet."""
    out = ""
    for run in runs:
        if out.endswith("\n") or run.startswith("\n"):
            out = out.rstrip("\n") + "\n\n" + run.lstrip("\n") if out.strip() else run
        else:
            out += run
    return out


def _html_fragment_text(fragment: str) -> str:
    """The visible text of a piece of HTML (a Markdown file's HTML block)."""
    parser = _VisibleText()
    parser.feed(fragment)
    parser.close()
    return parser.text()


def _html(path: Path, data: bytes) -> tuple[str, str | None]:
    """An HTML page's visible text and its title."""
    declared = _CHARSET.search(data[:4096])
    encoding = None
    if declared:
        try:
            encoding = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            encoding = None
    parser = _VisibleText()
    parser.feed(_decode(path, data, encoding))
    parser.close()
    return parser.text(), parser.title or parser.h1 or None


# -- PDF ---------------------------------------------------------------------------------------
def _pdf(path: Path, data: bytes) -> tuple[str, str | None]:
    """The text of every page (pages apart by a blank line) and the PDF's title."""
    try:
        from pypdf import PdfReader
    except ImportError as exc:
        raise MissingDependencyError(
            f"reading PDF files needs pypdf ({exc.name} is missing); install it with: {PDF_PIP}"
        ) from exc
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)  # pypdf logs every repaired glitch as a warning
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FormatError("the PDF is encrypted with a password; skipped", path=str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = info.title if info is not None else None
    except FormatError:
        raise
    except Exception as exc:  # pypdf raises many kinds on broken files; all mean "unreadable"
        raise FormatError(
            f"the PDF could not be parsed ({type(exc).__name__}: {exc}); skipped", path=str(path)
        ) from None
    finally:
        logger.setLevel(level)
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _tidy(text), str(title).strip() if title else None


_PARSERS: dict[str, Callable[[Path, bytes], tuple[str, str | None]]] = {
    "text": _plain,
    "markdown": _markdown,
    "html": _html,
    "pdf": _pdf,
}

SUPPORTED_SUFFIXES: dict[str, str] = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
"""The suffixes found when walking folders, and the kind each is read as."""
