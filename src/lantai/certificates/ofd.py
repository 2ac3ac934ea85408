"""The certificate as OFD (GB/T 33190-2016, 开放版式文档), the 标准版式文档 that 电子证照 are made in
(《国务院关于在线政务服务的若干规定》第十条): the same text as the PDF/A rendition, the seal and the
QR code as images, and the same two attachments (``certificate.json``, ``payload.txt``).

An OFD is a ZIP of XML parts in the namespace ``http://www.ofdspec.org/2016``; lengths are in
millimetres, the origin is the page's top left corner::

    OFD.xml                          DocBody → DocRoot
    Doc_0/Document.xml               CommonData (PageArea, PublicRes, DocumentRes), Pages, Attachments
    Doc_0/PublicRes.xml              the font, with an embedded subset of the characters used
    Doc_0/DocumentRes.xml            the seal and QR images (MultiMedia)
    Doc_0/Pages/Page_N/Content.xml   TextObject (one line each), ImageObject, PathObject
    Doc_0/Attachs/Attachments.xml    certificate.json and payload.txt

The OFD carries **no electronic seal** (GB/T 38540 电子签章 needs an SES structure signed under an
SM2 certificate issued by a 电子印章 system): it is authentic only through its QR payload, whose
SM2 signature covers the SM3 digest of ``certificate.json``. :func:`read_ofd` opens an OFD from
anyone safely (size limits, no path outside the package) and gives its two attachments.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import posixpath
import threading
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from . import document
from .qr import QrReadError, read_qr
from .seal import cjk_font

__all__ = ["MAX_OFD_BYTES", "OfdEvidence", "read_ofd", "render_ofd"]

NS = "http://www.ofdspec.org/2016"
PAGE_W, PAGE_H = 210.0, 297.0  # A4
LEFT, RIGHT, TOP = 25.0, 185.0, 25.0
FOOTER_TOP = 240.0  # the notes and the QR code sit below this on every page
LINE_GAP = 1.6  # leading, as a multiple of the font size
BODY, SMALL, TITLE = 4.2, 3.2, 7.4  # font sizes in mm (about 12 pt, 9 pt, 21 pt)
SEAL_MM = 40.0
FONT_ID, SEAL_ID, QR_ID = 2, 3, 4  # ST_ID of the resources; page objects are numbered from 10
FONT_FILE = "font_NotoSerifCJKSC_subset.ttf"
_FONT_PATTERNS = ("Noto Serif CJK SC:style=Regular", "Noto Serif CJK SC", ":lang=zh-cn")

MAX_OFD_BYTES = 20 * 1024 * 1024  # a certificate is well under 1 MB; anything this big is not ours
_MAX_ENTRIES = 200
_MAX_PART_BYTES = 10 * 1024 * 1024  # one part, as decompressed
_MAX_TOTAL_BYTES = 40 * 1024 * 1024  # all the parts read, as decompressed


# --- the font -------------------------------------------------------------------------------


_SOURCE_LOCK = threading.Lock()  # fontTools reads a lazily loaded font's tables on first use


@functools.lru_cache(maxsize=1)
def _source_font() -> Any:
    from fontTools.ttLib import TTFont

    file, index = cjk_font(_FONT_PATTERNS)
    return TTFont(file, fontNumber=index, lazy=True)


@dataclass(frozen=True)
class _Metrics:
    family: str
    units_per_em: int
    advances: dict[int, int]  # code point → advance width in font units

    def advance(self, char: str, size: float) -> float:
        units = self.advances.get(ord(char), self.units_per_em)  # a missing glyph: a full em
        return units * size / self.units_per_em


@functools.lru_cache(maxsize=1)
def _metrics() -> _Metrics:
    with _SOURCE_LOCK:
        font = _source_font()
        hmtx = font["hmtx"]
        advances = {code: hmtx[glyph][0] for code, glyph in font.getBestCmap().items()}
        family = font["name"].getDebugName(1) or "Noto Serif CJK SC"
        return _Metrics(family, int(font["head"].unitsPerEm), advances)


def _font_subset(text: str) -> bytes:
    """A TrueType (glyf) font with only the glyphs of ``text``. TrueType is what OFD readers
    handle most widely (easyofd's renderer, reportlab, takes no CFF), and the Noto face is CFF,
    so each glyph's cubic outline is converted to quadratic (fontTools cu2qu); a new font is built
    from those few glyphs rather than subsetting the 65,000-glyph face (about 0.6 s more). The
    copyright and licence (SIL OFL 1.1) go with it."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    with _SOURCE_LOCK:
        source = _source_font()
        cmap = source.getBestCmap()
        codes = sorted({ord(char) for char in text if ord(char) in cmap})
        names = [".notdef", *sorted({cmap[code] for code in codes} - {".notdef"})]
        glyph_set = source.getGlyphSet()
        hmtx = source["hmtx"]
        glyphs = {}
        advances = {}
        for name in names:
            pen = TTGlyphPen(None)
            # CFF contours run counter-clockwise, TrueType ones clockwise
            glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
            glyphs[name] = pen.glyph()
            advances[name] = hmtx[name][0]
        head, hhea, os2 = source["head"], source["hhea"], source["OS/2"]
        naming = {
            key: source["name"].getDebugName(name_id) or ""
            for key, name_id in (("copyright", 0), ("familyName", 1), ("styleName", 2),
                                 ("licenseDescription", 13), ("licenseInfoURL", 14))
        }  # fmt: skip

    builder = FontBuilder(head.unitsPerEm, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({code: cmap[code] for code in codes})
    builder.setupGlyf(glyphs)
    glyf = builder.font["glyf"]
    metrics = {}
    for name in names:
        glyph = glyf[name]
        glyph.recalcBounds(glyf)
        metrics[name] = (advances[name], getattr(glyph, "xMin", 0))
    builder.setupHorizontalMetrics(metrics)
    builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent)
    naming["uniqueFontIdentifier"] = f"{naming['familyName']} subset (Lantai)"
    naming["psName"] = "NotoSerifCJKsc-Regular-Subset"
    builder.setupNameTable(naming)
    builder.setupOS2(
        fsType=os2.fsType, sTypoAscender=os2.sTypoAscender, sTypoDescender=os2.sTypoDescender,
        sTypoLineGap=os2.sTypoLineGap, usWinAscent=os2.usWinAscent,
        usWinDescent=os2.usWinDescent, achVendID=os2.achVendID,
    )  # fmt: skip
    builder.setupPost()
    # the source face's dates, not the clock: the same text gives the same font bytes
    builder.font["head"].created = head.created
    builder.font["head"].modified = head.modified
    builder.font.recalcTimestamp = False
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


# --- layout ---------------------------------------------------------------------------------


@dataclass
class _Text:
    x: float
    y: float  # top of the line box
    text: str
    size: float


@dataclass
class _Image:
    resource: int
    x: float
    y: float
    w: float
    h: float


@dataclass
class _Rule:
    x1: float
    x2: float
    y: float


@dataclass
class _Page:
    texts: list[_Text] = field(default_factory=list)
    images: list[_Image] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)


def _width(text: str, size: float) -> float:
    metrics = _metrics()
    return sum(metrics.advance(char, size) for char in text)


def _wrap(text: str, size: float, width: float, indent: float = 0.0) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (continuation lines ``indent`` less);
    lines break between any two characters, as CJK text does (a long number may split)."""
    lines: list[str] = []
    line, used = "", 0.0
    limit = width
    for char in text:
        step = _metrics().advance(char, size)
        if line and used + step > limit:
            lines.append(line)
            line, used, limit = "", 0.0, width - indent
        line += char
        used += step
    if line or not lines:
        lines.append(line)
    return lines


class _Flow:
    """Lines placed from the top of the page down, a new page when the footer is reached."""

    def __init__(self, footer: Any) -> None:
        self.pages: list[_Page] = []
        self._footer = footer
        self.y = 0.0
        self._new_page()

    def _new_page(self) -> None:
        page = _Page()
        self._footer(page)
        self.pages.append(page)
        self.y = TOP

    @property
    def page(self) -> _Page:
        return self.pages[-1]

    def need(self, height: float) -> None:
        if self.y + height > FOOTER_TOP - 4:
            self._new_page()

    def line(self, text: str, size: float = BODY, x: float = LEFT, *, centre: bool = False,
             right: bool = False) -> None:  # fmt: skip
        self.need(size * LINE_GAP)
        if centre:
            x = (LEFT + RIGHT - _width(text, size)) / 2
        elif right:
            x = RIGHT - _width(text, size)
        self.page.texts.append(_Text(x, self.y, text, size))
        self.y += size * LINE_GAP

    def paragraph(self, label: str, text: str, size: float = BODY) -> None:
        """``label：text`` wrapped, continuation lines aligned after the label."""
        head = f"{label}：" if label else ""
        indent = _width(head, size)
        for i, part in enumerate(_wrap(head + text, size, RIGHT - LEFT, indent)):
            self.line(part, size, LEFT if i == 0 else LEFT + indent)

    def gap(self, height: float) -> None:
        self.y += height


def _layout(content: dict[str, Any], context: dict[str, Any], qr_mm: float) -> list[_Page]:
    c = content

    def footer(page: _Page) -> None:
        notes = [
            "本证明依据申请人提交的身份证明材料出具，身份证件号码已作部分遮蔽。",
            "本 OFD 版式文件不含电子签章，真伪以签名二维码（SM2）核验；经涂改、剪贴或二维码内容与"
            "本证明不符的，无效。",
            f"出证日期：{context['issued_display']}　签发密钥：{c.get('issuer_key_id', '')}",
        ]
        page.rules.append(_Rule(LEFT, RIGHT, FOOTER_TOP))
        y = FOOTER_TOP + 3
        for note in notes:
            for part in _wrap(note, SMALL, RIGHT - LEFT - qr_mm - 4):
                page.texts.append(_Text(LEFT, y, part, SMALL))
                y += SMALL * LINE_GAP
        page.images.append(_Image(QR_ID, RIGHT - qr_mm, FOOTER_TOP + 2, qr_mm, qr_mm))
        caption = "扫码离线核验"
        page.texts.append(
            _Text(RIGHT - qr_mm / 2 - _width(caption, SMALL) / 2, FOOTER_TOP + 2 + qr_mm + 0.5,
                  caption, SMALL)
        )  # fmt: skip

    flow = _Flow(footer)
    flow.line(context["title"], TITLE, centre=True)
    flow.gap(2)
    flow.line(f"证明编号：{c['number']}", BODY, right=True)
    flow.gap(3)
    issuer = c["issuer"]
    region = f"（行政区划代码 {issuer['region']}）" if issuer.get("region") else ""
    flow.paragraph("出证机构", f"{issuer['name']}{region}")
    requester = c["requester"]
    who = requester["name"]
    if requester.get("type_label"):
        who += f"（{requester['type_label']}）"
    if requester.get("id_masked"):
        who += f"，身份证件号码 {requester['id_masked']}"
    flow.paragraph("申请人", who)
    flow.gap(2)
    if context["none_found"]:
        flow.paragraph("", "经按下列条件查询本馆保管的婚姻登记档案：")
        flow.paragraph("", f"　　{c['criteria']}")
        flow.paragraph("", "本馆未查到符合上述条件的婚姻登记记录。")
        flow.paragraph("", "本证明仅说明本馆馆藏中无相应记录，不证明其他档案馆或婚姻登记机关无相应记录。",
                       SMALL)  # fmt: skip
    else:
        flow.paragraph("", "经查询本馆保管的婚姻登记档案，有以下婚姻登记记录：")
        for i, record in enumerate(context["records"], start=1):
            flow.need(6 * BODY * LINE_GAP)  # keep a record's lines together where they fit
            flow.gap(1)
            y = flow.y
            flow.line(f"记录 {i}", BODY)
            flow.page.rules.append(_Rule(LEFT, RIGHT, y))
            office = record.get("office", "")
            if record.get("region_code"):
                office += f"（{record['region_code']}）"
            parties = "；".join(
                f"{p.get('name', '')}{'（' + p['sex'] + '）' if p.get('sex') else ''}"
                f"{' ' + p['id_masked'] if p.get('id_masked') else ''}"
                for p in record.get("parties") or []
                if isinstance(p, dict)
            )
            rows = [
                ("登记类别", record.get("kind_label", "")),
                ("登记日期", record.get("date_display", "")),
                ("登记机关", office),
                ("结婚证字号", record.get("certificate_number", "")),
                ("双方当事人", parties),
                ("保管单位", record.get("holding_archives", "")),
                ("档号", record.get("reference_code", "")),
            ]
            for label, value in rows:
                if value:
                    flow.paragraph(f"　　{label}", str(value))
    flow.gap(2)
    flow.paragraph("", "特此证明。")
    flow.gap(2)
    flow.paragraph("查询依据", c["basis"])
    flow.paragraph("用　　途", c["purpose"])
    flow.paragraph("有效期至", context["expires_display"])
    flow.need(SEAL_MM + 4)
    flow.gap(8)
    top = flow.y
    flow.line(issuer["name"], BODY, right=True)
    flow.line(context["issued_display"], BODY, right=True)
    centre_x = RIGHT - _width(issuer["name"], BODY) / 2
    flow.page.images.append(
        _Image(SEAL_ID, centre_x - SEAL_MM / 2, top + BODY - SEAL_MM / 2, SEAL_MM, SEAL_MM)
    )
    if len(flow.pages) > 1:  # a page that strays from the others still names its certificate
        for number, page in enumerate(flow.pages, start=1):
            mark = f"{c['number']}　第 {number} 页／共 {len(flow.pages)} 页"
            page.texts.append(_Text(LEFT, PAGE_H - 14, mark, SMALL))
    return flow.pages


# --- XML parts ------------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


def _xml(root: str, body: str, attributes: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:{root} xmlns:ofd="{NS}"{attributes}>'
        f"{body}</ofd:{root}>\n"
    ).encode()


class _Ids:
    def __init__(self, start: int) -> None:
        self.last = start - 1

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        self.last += 1
        return self.last


def _content_xml(page: _Page, ids: _Ids) -> bytes:
    metrics = _metrics()
    parts = [f'<ofd:Content><ofd:Layer ID="{next(ids)}" Type="Body">']
    for image in page.images:
        w, h = _num(image.w), _num(image.h)
        parts.append(
            f'<ofd:ImageObject ID="{next(ids)}" ResourceID="{image.resource}" '
            f'Boundary="{_num(image.x)} {_num(image.y)} {w} {h}" CTM="{w} 0 0 {h} 0 0"/>'
        )
    for rule in page.rules:
        length = _num(rule.x2 - rule.x1)
        parts.append(
            f'<ofd:PathObject ID="{next(ids)}" Boundary="{_num(rule.x1)} {_num(rule.y)} '
            f'{length} 0.3" LineWidth="0.2" Stroke="true" Fill="false">'
            f'<ofd:StrokeColor Value="0 0 0"/>'
            f"<ofd:AbbreviatedData>M 0 0.1 L {length} 0.1</ofd:AbbreviatedData></ofd:PathObject>"
        )
    for text in page.texts:
        # no white space at either end of a TextCode: XML readers commonly strip it, and the
        # characters would then be drawn at their neighbours' DeltaX positions
        string = text.text.rstrip()
        body = string.lstrip()
        if not body:
            continue
        x = text.x + sum(
            metrics.advance(char, text.size) for char in string[: len(string) - len(body)]
        )
        advances = [metrics.advance(char, text.size) for char in body]
        width = sum(advances)
        baseline = text.size * 0.88  # the face's ascender is 0.88 em
        # explicit DeltaX: a reader need not read the font's advances to place each character
        delta = " ".join(_num(a) for a in advances[:-1])
        delta_attribute = f' DeltaX="{delta}"' if delta else ""
        parts.append(
            f'<ofd:TextObject ID="{next(ids)}" Boundary="{_num(x)} {_num(text.y)} '
            f'{_num(width + 0.5)} {_num(text.size * 1.2)}" Font="{FONT_ID}" '
            f'Size="{_num(text.size)}"><ofd:FillColor Value="0 0 0"/>'
            f'<ofd:TextCode X="0" Y="{_num(baseline)}"{delta_attribute}>{escape(body)}'
            "</ofd:TextCode></ofd:TextObject>"
        )
    parts.append("</ofd:Layer></ofd:Content>")
    box = f"0 0 {_num(PAGE_W)} {_num(PAGE_H)}"
    return _xml("Page", f"<ofd:Area><ofd:PhysicalBox>{box}</ofd:PhysicalBox></ofd:Area>"
                + "".join(parts))  # fmt: skip


def _doc_id(number: str) -> str:
    """DocID is a UUID in 32 characters (GB/T 33190, DocInfo); derived from the certificate number,
    so that a certificate keeps its DocID when it is rendered again."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:lantai:certificate:{number}").hex


def _issued(value: str) -> dt.datetime:
    """The issue time (validated by the PDF's checks) in UTC, to the second."""
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def render_ofd(content: dict[str, Any], payload_text: str, *, seal_png: bytes,
               qr_png: bytes) -> bytes:  # fmt: skip
    """The certificate as OFD bytes: the PDF's text on A4 pages, the seal and ``qr_png`` (the
    QR code of ``payload_text``) as images, ``certificate.json`` and ``payload.txt`` attached.
    Raises :class:`~lantai.certificates.document.CertificateContentError` for content the
    certificate cannot show, and when ``qr_png`` is not a PNG carrying ``payload_text``."""
    context = document.context(content, payload_text, seal_png)  # the PDF's checks and wording
    try:
        carried = read_qr(qr_png) if qr_png.startswith(b"\x89PNG\r\n\x1a\n") else []
    except QrReadError:
        carried = []
    if payload_text not in carried:
        raise document.CertificateContentError(
            "二维码图像须为载有本证明载荷的 PNG — the QR image must be a PNG carrying the "
            "certificate's payload"
        )
    qr_mm = float(context["qr_width_mm"])  # the symbol with its quiet zone, as in the PDF
    pages = _layout(content, context, qr_mm)

    used = "".join(t.text for page in pages for t in page.texts)
    font_bytes = _font_subset(used + "0123456789")
    metrics = _metrics()
    content_bytes = document.canonical_content(content)
    now = _issued(str(content["issued"]))  # not the clock: the same content, the same bytes

    ids = _Ids(10)
    page_parts = [_content_xml(page, ids) for page in pages]
    page_list = "".join(
        f'<ofd:Page ID="{next(ids)}" BaseLoc="Pages/Page_{i}/Content.xml"/>'
        for i in range(len(pages))
    )
    document_xml = _xml(
        "Document",
        f"<ofd:CommonData><ofd:MaxUnitID>{ids.last}</ofd:MaxUnitID>"
        f"<ofd:PageArea><ofd:PhysicalBox>0 0 {_num(PAGE_W)} {_num(PAGE_H)}</ofd:PhysicalBox>"
        "</ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>"
        "<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes></ofd:CommonData>"
        f"<ofd:Pages>{page_list}</ofd:Pages>"
        "<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>",
    )
    public_res = _xml(
        "Res",
        f'<ofd:Fonts><ofd:Font ID="{FONT_ID}" FontName={quoteattr(metrics.family)} '
        f'FamilyName="宋体" Serif="true"><ofd:FontFile>{FONT_FILE}</ofd:FontFile></ofd:Font>'
        "</ofd:Fonts>",
        ' BaseLoc="Res"',
    )
    document_res = _xml(
        "Res",
        f'<ofd:MultiMedias><ofd:MultiMedia ID="{SEAL_ID}" Type="Image" Format="PNG">'
        "<ofd:MediaFile>image_seal.png</ofd:MediaFile></ofd:MultiMedia>"
        f'<ofd:MultiMedia ID="{QR_ID}" Type="Image" Format="PNG">'
        "<ofd:MediaFile>image_qr.png</ofd:MediaFile></ofd:MultiMedia></ofd:MultiMedias>",
        ' BaseLoc="Res"',
    )
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S")
    attachments = _xml(
        "Attachments",
        "".join(
            f'<ofd:Attachment ID="attach_{i}" Name="{name}" Format="{fmt}" '
            f'CreationDate="{stamp}" Size="{_num(len(data) / 1024)}" Visible="false">'
            f"<ofd:FileLoc>{name}</ofd:FileLoc></ofd:Attachment>"
            for i, (name, fmt, data) in enumerate(
                [
                    (document.CONTENT_FILE, "json", content_bytes),
                    (document.PAYLOAD_FILE, "txt", payload_text.encode("ascii")),
                ],
                start=1,
            )  # fmt: skip
        ),
    )
    title = f"{context['title']} {content['number']}"
    ofd_xml = _xml(
        "OFD",
        "<ofd:DocBody><ofd:DocInfo>"
        f"<ofd:DocID>{_doc_id(str(content['number']))}</ofd:DocID>"
        f"<ofd:Title>{escape(title)}</ofd:Title>"
        f"<ofd:Author>{escape(str(content['issuer']['name']))}</ofd:Author>"
        f"<ofd:CreationDate>{now.date().isoformat()}</ofd:CreationDate>"
        "<ofd:Creator>Lantai</ofd:Creator><ofd:CustomDatas>"
        f'<ofd:CustomData Name="证明编号">{escape(str(content["number"]))}</ofd:CustomData>'
        "</ofd:CustomDatas></ofd:DocInfo>"
        "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody>",
        ' Version="1.0" DocType="OFD"',
    )
    parts: list[tuple[str, bytes]] = [
        ("OFD.xml", ofd_xml),
        ("Doc_0/Document.xml", document_xml),
        ("Doc_0/PublicRes.xml", public_res),
        ("Doc_0/DocumentRes.xml", document_res),
        (f"Doc_0/Res/{FONT_FILE}", font_bytes),
        ("Doc_0/Res/image_seal.png", seal_png),
        ("Doc_0/Res/image_qr.png", qr_png),
        *((f"Doc_0/Pages/Page_{i}/Content.xml", xml) for i, xml in enumerate(page_parts)),
        ("Doc_0/Attachs/Attachments.xml", attachments),
        (f"Doc_0/Attachs/{document.CONTENT_FILE}", content_bytes),
        (f"Doc_0/Attachs/{document.PAYLOAD_FILE}", payload_text.encode("ascii")),
    ]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=now.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            package.writestr(info, data)
    return out.getvalue()


# --- read -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfdEvidence:
    readable: bool  # a safe OFD package whose attachments were found
    content_bytes: bytes | None  # the attachment certificate.json
    payload_text: str | None  # the attachment payload.txt
    problem: str | None  # the first thing wrong, Chinese — English; None when readable


class _Unreadable(Exception):
    pass


def _safe_name(name: str) -> str:
    """A member or reference name as a normalised package path; _Unreadable when it could
    leave the package (absolute, ``..``, backslashes, drive letters, NUL)."""
    if (not name or "\\" in name or "\x00" in name or ":" in name
            or name.startswith("/") or name.startswith("~")):  # fmt: skip
        raise _Unreadable(f"OFD 包内路径“{name}”不安全 — the package path {name!r} is not safe")
    normal = posixpath.normpath(name)
    if normal.startswith("../") or normal == ".." or normal == ".":
        raise _Unreadable(
            f"OFD 包内路径“{name}”越出包外 — the package path {name!r} leaves the package"
        )
    return normal


class _Package:
    def __init__(self, data: bytes) -> None:
        if len(data) > MAX_OFD_BYTES:
            raise _Unreadable(
                f"OFD 文件超过 {MAX_OFD_BYTES // 1048576} MB — the OFD is larger than "
                f"{MAX_OFD_BYTES // 1048576} MB"
            )
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise _Unreadable(
                f"不是 ZIP 包（OFD 须为 ZIP）：{exc} — not a ZIP package: {exc}"
            ) from exc
        if len(infos) > _MAX_ENTRIES:
            raise _Unreadable(
                f"OFD 包含 {len(infos)} 个文件，超过 {_MAX_ENTRIES} — the package holds "
                f"{len(infos)} files, more than {_MAX_ENTRIES}"
            )
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = _safe_name(info.filename)
            if name in self.members:
                raise _Unreadable(f"OFD 包内文件“{name}”重复 — the package holds {name!r} twice")
            self.members[name] = info
        self.read_total = 0

    def read(self, name: str, what: str) -> bytes:
        info = self.members.get(name)
        if info is None:
            raise _Unreadable(f"OFD 包缺少{what}（{name}）— the package lacks {name}")
        if info.file_size > _MAX_PART_BYTES:
            raise _Unreadable(self._too_big(name))
        chunks, size = [], 0
        try:
            # the sizes in the ZIP directory are the sender's word: count what comes out
            with self.zip.open(info) as stream:
                while chunk := stream.read(65536):
                    size += len(chunk)
                    self.read_total += len(chunk)
                    if size > _MAX_PART_BYTES or self.read_total > _MAX_TOTAL_BYTES:
                        raise _Unreadable(self._too_big(name))
                    chunks.append(chunk)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise _Unreadable(
                f"OFD 包内文件“{name}”无法解压：{exc} — cannot extract {name!r}"
            ) from exc
        return b"".join(chunks)

    @staticmethod
    def _too_big(name: str) -> str:
        return (
            f"OFD 包内文件“{name}”解压后过大（疑似 ZIP 炸弹）— {name!r} decompresses to too "
            "much (a zip bomb?)"
        )

    def xml(self, name: str, what: str) -> Any:
        from lxml import etree

        data = self.read(name, what)
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            raise _Unreadable(
                f"{name} 含 DTD/实体声明，拒绝解析 — {name} declares a DTD or entities"
            )
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                 huge_tree=False)  # fmt: skip
        try:
            return etree.fromstring(data, parser)
        except etree.XMLSyntaxError as exc:
            raise _Unreadable(
                f"{name} 不是有效的 XML：{exc} — {name} is not well-formed XML"
            ) from exc


def _child_text(element: Any, path: str, where: str) -> str:
    found = element.find(path, {"ofd": NS})
    text = (found.text or "").strip() if found is not None else ""
    if not text:
        raise _Unreadable(f"{where} 缺少 {path} — {where} lacks {path}")
    return text


def _resolve(base_dir: str, loc: str) -> str:
    """An ST_Loc: absolute from the package root when it starts with '/', else relative."""
    loc = loc.strip()
    if loc.startswith("/"):
        return _safe_name(loc.lstrip("/"))
    return _safe_name(posixpath.join(base_dir, loc) if base_dir else loc)


def read_ofd(data: bytes) -> OfdEvidence:
    """The attachments of an OFD certificate; never raises on hostile bytes (readable False with
    the problem instead). Says nothing about authenticity: the caller compares certificate.json
    with the signed QR payload's digest."""
    try:
        package = _Package(data)
        root = package.xml("OFD.xml", "入口文件 OFD.xml")
        if root.tag != f"{{{NS}}}OFD":
            raise _Unreadable("OFD.xml 的根元素不是 ofd:OFD — OFD.xml's root is not ofd:OFD")
        document_name = _resolve("", _child_text(root, "ofd:DocBody/ofd:DocRoot", "OFD.xml"))
        doc = package.xml(document_name, "文档根 Document.xml")
        doc_dir = posixpath.dirname(document_name)
        list_name = _resolve(doc_dir, _child_text(doc, "ofd:Attachments", document_name))
        listing = package.xml(list_name, "附件列表 Attachments.xml")
        list_dir = posixpath.dirname(list_name)
        files: dict[str, bytes] = {}
        for attachment in listing.findall("ofd:Attachment", {"ofd": NS}):
            name = attachment.get("Name", "")
            if name in (document.CONTENT_FILE, document.PAYLOAD_FILE) and name not in files:
                loc = _child_text(attachment, "ofd:FileLoc", f"附件 {name}")
                files[name] = package.read(_resolve(list_dir, loc), f"附件 {name}")
        for name in (document.CONTENT_FILE, document.PAYLOAD_FILE):
            if name not in files:
                raise _Unreadable(f"OFD 未附带 {name} — the OFD does not attach {name}")
        try:
            payload = files[document.PAYLOAD_FILE].decode("ascii").strip()
        except UnicodeDecodeError as exc:
            raise _Unreadable(
                f"{document.PAYLOAD_FILE} 不是 ASCII 文本 — {document.PAYLOAD_FILE} is not ASCII"
            ) from exc
        return OfdEvidence(True, files[document.CONTENT_FILE], payload, None)
    except _Unreadable as exc:
        return OfdEvidence(False, None, None, str(exc))
