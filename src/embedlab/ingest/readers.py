"""Reading documents for ingestion: plain text, Markdown, HTML and PDF, as text and a title.

- ``.txt`` (and any file named explicitly whatever its suffix): UTF-8 (a UTF-8 or UTF-16
  byte-order mark is honoured);
- ``.md`` / ``.markdown``: markup stripped lightly (headings, emphasis, links, images, code
  fences, block quotes, list markers, front matter); the title is the first heading;
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
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from embedlab.errors import FormatError, MissingDependencyError

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
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$")
_QUOTE = re.compile(r"^ {0,3}(?:>[ \t]?)+")
_LIST = re.compile(r"^(\s*)(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?")
_FRONT_TITLE = re.compile(r"^title:\s*[\"']?(.*?)[\"']?\s*$", re.IGNORECASE)
_INLINE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links: their text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference links
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"</?[A-Za-z][^>\n]*>"), ""),  # inline HTML tags
    (re.compile(r"(`+)(.+?)\1"), r"\2"),  # code spans
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?!\*)"), r"\1"),  # *emphasis*
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),  # _emphasis_
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),  # strikethrough
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])"), r"\1"),  # backslash escapes
)


def _markdown(path: Path, data: bytes) -> tuple[str, str | None]:
    """Markdown as plain text, and its first heading (or front-matter title)."""
    lines = _decode(path, data).split("\n")
    title: str | None = None
    if lines and lines[0].strip() == "---":  # YAML front matter
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                found = [m.group(1) for m in map(_FRONT_TITLE.match, lines[1:i]) if m]
                title = found[0] if found and found[0] else None
                lines = lines[i + 1 :]
                break
    out: list[str] = []
    fence = ""
    for line in lines:
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            else:
                out.append(line)
            continue
        if opened:
            fence = opened.group(1)
            continue
        heading = _ATX.match(line)
        if heading:
            text = _inline(heading.group(1) or "")
            title = title or text or None
            out.append(text)
            continue
        underline = _SETEXT.match(line)
        if underline and out and out[-1].strip():
            title = title or out[-1].strip()
            continue
        if _RULE.match(line) or _REFERENCE.match(line) or _TABLE_RULE.match(line):
            out.append("")
            continue
        line = _QUOTE.sub("", line)
        line = _LIST.sub(r"\1", line)
        if line.lstrip().startswith("|"):
            line = line.strip().strip("|").replace(" | ", "  ")
        out.append(_inline(line))
    return _tidy("\n".join(out)), title


def _inline(text: str) -> str:
    """Inline Markdown markup removed, the words kept."""
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return text.rstrip()


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


class _VisibleText(HTMLParser):
    """Collects the visible text of a page, its <title> and its first <h1>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.title_parts: list[str] | None = None
        self.title = ""
        self.h1_parts: list[str] | None = None
        self.h1 = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not self.title:
            self.title_parts = []
        elif tag == "body":
            self.hidden = 0  # a <head> left open ends where the body starts
        elif tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
            self.pre += tag == "pre"
            if tag == "h1" and not self.h1:
                self.h1_parts = []
        elif tag in _CELLS:
            self.parts.append("  ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HIDDEN and tag != "title":
            self.handle_starttag(tag, attrs)
            if tag not in _VOID:
                self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self.title_parts is not None:
            self.title = " ".join("".join(self.title_parts).split())
            self.title_parts = None
        elif tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            if tag == "h1" and self.h1_parts is not None:
                self.h1 = " ".join("".join(self.h1_parts).split())
                self.h1_parts = None

    def handle_data(self, data: str) -> None:
        if self.title_parts is not None:
            self.title_parts.append(data)
            return
        if self.hidden:
            return
        if self.h1_parts is not None:
            self.h1_parts.append(data)
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        joined = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(self.parts))
        return _tidy(re.sub(r"[ \t]{3,}", "  ", joined)).strip()


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
