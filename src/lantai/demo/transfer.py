"""A deterministic generator of a valid Chinese-layout transfer package (《电子档案移交与接收办法》
附件2) for tests and the benchmark: real small PDF / JPEG / TIFF / XML files, 说明文件.TXT,
文件目录.XML and 其他/移交登记表.XML with the right counts, byte total and digests.

The same arguments always give byte-identical packages. ``size_kb`` makes every content file
about that large (e.g. 10,000 files × 100 KB ≈ 1 GB for the benchmark)."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from PIL import Image

from lantai.standards.transfer.eep import EEP_NAMESPACE
from lantai.standards.vocabularies import retention_labels

from .words import year_topics

__all__ = ["DIGESTS", "KINDS", "eep_document", "make_eep_transfer", "make_transfer"]

KINDS = ("pdf", "jpg", "tif", "xml")
DIGESTS = {"SM3": "sm3", "SHA256": "sha256", "SHA1": "sha1", "MD5": "md5"}
UNIT = "岭南省人民政府办公厅"
DESCRIPTION = "本EEP根据中华人民共和国档案行业标准DA/T 48-2009《基于XML的电子文件封装规范》生成"
AUTHORS = ("岭南省人民政府办公厅", "岭南省人民政府", "岭南省发展和改革委员会", "岭南省财政厅")
TEMPLATES = (
    "关于做好{year}年{topic}工作的通知",
    "关于{topic}有关情况的报告",
    "关于印发《{year}年{topic}实施方案》的通知",
    "关于{topic}工作的请示",
    "{year}年{topic}工作会议纪要",
)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _pdf(label: str, pad: bytes) -> bytes:
    """A minimal valid one-page PDF 1.4 written by hand (correct xref offsets)."""
    text = f"BT /F1 18 Tf 72 720 Td ({label}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if pad:
        objects.append(b"<< /Length %d >>\nstream\n" % len(pad) + pad + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


class _Images:
    """Encodes one base image per kind and size once; each file then differs cheaply (a JPEG
    comment segment; the first pixels of an uncompressed TIFF)."""

    def __init__(self, size_kb: int | None, rng: random.Random) -> None:
        target = (size_kb or 2) * 1024
        # noise compresses badly: JPEG q90 ≈ 1.5 bytes/pixel, raw RGB TIFF 3 bytes/pixel
        self.jpeg_side = max(16, int((target / 1.5) ** 0.5))
        self.tiff_side = max(8, int((target / 3) ** 0.5))
        side = self.jpeg_side
        img = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        self.jpeg = buf.getvalue()
        side = self.tiff_side
        self.tiff_pixels = rng.randbytes(side * side * 3)

    def jpg(self, label: str) -> bytes:
        comment = label.encode("utf-8")
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        return self.jpeg[:2] + segment + self.jpeg[2:]

    def tif(self, label: str) -> bytes:
        stamp = hashlib.sha256(label.encode("utf-8")).digest()
        pixels = stamp + self.tiff_pixels[len(stamp) :]
        side = self.tiff_side
        buf = io.BytesIO()
        Image.frombytes("RGB", (side, side), pixels).save(buf, "TIFF")
        return buf.getvalue()


def _xml_file(code: str, title: str, pad: int) -> bytes:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<公文>\n'
        f"  <档号>{escape(code)}</档号>\n  <题名>{escape(title)}</题名>\n"
    )
    line = "  <正文段落>本件为演示数据，由兰台移交样例生成器生成。</正文段落>\n"
    if pad > len(body):
        body += line * ((pad - len(body)) // len(line.encode("utf-8")) + 1)
    return (body + "</公文>\n").encode("utf-8")


def make_transfer(
    dest: Path,
    items: int,
    *,
    seed: int = 1,
    files_per_item: int = 1,
    fonds: str = "Z109",
    year: int = 2020,
    kinds: Sequence[str] = KINDS,
    digest: str = "SM3",
    encoding: str = "UTF-8",
    size_kb: int | None = None,
    retention: str = "Y",
    org: str = "BGS",
    unit: str = UNIT,
    render: Callable[[str, str, str, str, str], bytes] | None = None,
) -> Path:
    """Write a valid Chinese-layout transfer of ``items`` items (``files_per_item`` files each)
    into ``dest`` (created; must be empty or absent) and return ``dest``.

    档号 follow DA/T 22-2015 ``{fonds}-WS·{year}-{retention}-{org}-{件号:04}``; files go to
    ``电子档案/{year}/WS/{档号}[-NN].{ext}``; XML metadata and 说明文件 are written in
    ``encoding`` (UTF-8 or GB18030); the register's digests use ``digest`` (SM3, SHA256, SHA1,
    MD5). ``render(kind, 档号, 题名, 责任者, date YYYY-MM-DD)``, when given, supplies the bytes
    of every PDF and JPEG file (the demo's drawn documents) instead of the minimal ones."""
    if items < 1 or files_per_item < 1:
        raise ValueError("items and files_per_item must be at least 1")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"kinds must be among {KINDS}, got {list(kinds)}")
    algorithm = DIGESTS.get(digest.upper().replace("-", ""))
    if algorithm is None:
        raise ValueError(f"digest must be one of {sorted(DIGESTS)}")
    # GB2312 text is written with the GB18030 codec: same bytes for GB2312 characters, and
    # Python's gb2312 codec maps A1A4 to U+30FB instead of the 间隔号 U+00B7 of 档号
    codec = {"UTF-8": "utf-8", "GB18030": "gb18030", "GB2312": "gb18030"}.get(encoding.upper())
    if codec is None:
        raise ValueError("encoding must be UTF-8, GB18030 or GB2312")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    rng = random.Random(seed)
    images = _Images(size_kb, rng)
    pad = (size_kb or 0) * 1024
    topics = year_topics("general", year) or ["机关事务管理"]
    width = max(4, len(str(items)))
    content_dir = dest / "电子档案" / str(year) / "WS"
    content_dir.mkdir(parents=True)
    retention_label = retention_labels().get(retention, retention)
    entries: list[str] = []
    digests: list[str] = []
    total_bytes = 0
    n_file = 0
    for i in range(1, items + 1):
        code = f"{fonds}-WS·{year}-{retention}-{org}-{i:0{width}d}"
        day_of_year = (i - 1) * 365 // items
        month = 0
        while day_of_year >= _MONTH_DAYS[month]:
            day_of_year -= _MONTH_DAYS[month]
            month += 1
        date = f"{year}{month + 1:02d}{day_of_year + 1:02d}"
        topic = topics[rng.randrange(len(topics))]
        title = TEMPLATES[rng.randrange(len(TEMPLATES))].format(year=year, topic=topic)
        author = AUTHORS[rng.randrange(len(AUTHORS))]
        names: list[str] = []
        for k in range(files_per_item):
            kind = kinds[n_file % len(kinds)]
            n_file += 1
            stem = code if files_per_item == 1 else f"{code}-{k + 1:02d}"
            label = f"Lantai demo {fonds} {year} {i} {k + 1}"
            if render is not None and kind in ("pdf", "jpg"):
                data = render(kind, code, title, author, f"{date[:4]}-{date[4:6]}-{date[6:]}")
            elif kind == "pdf":
                data = _pdf(label, rng.randbytes(pad) if pad else b"")
            elif kind == "jpg":
                data = images.jpg(f"{code} {k + 1}")
            elif kind == "tif":
                data = images.tif(f"{code} {k + 1}")
            else:
                data = _xml_file(code, title, pad)
            rel = f"电子档案/{year}/WS/{stem}.{kind}"
            (dest / rel).write_bytes(data)
            total_bytes += len(data)
            names.append(rel)
            value = hashlib.new(algorithm, data).hexdigest()
            digests.append(f"  <数字摘要 文件={quoteattr(rel)}>{value}</数字摘要>\n")
        fields = [
            ("顺序号", str(i)),
            ("档号", code),
            ("全宗号", fonds),
            ("年度", str(year)),
            ("机构或问题", org),
            ("文号", f"岭府办发〔{year}〕{i}号"),
            ("责任者", author),
            ("题名", title),
            ("日期", date),
            ("密级", "公开"),
            ("保管期限", retention_label),
            ("页数", str(files_per_item)),
        ]
        parts = ["  <文件>\n"]
        parts += [f"    <{k}>{escape(v)}</{k}>\n" for k, v in fields]
        parts += [f"    <电子档案名称>{escape(n)}</电子档案名称>\n" for n in names]
        parts.append("    <备注></备注>\n  </文件>\n")
        entries.append("".join(parts))
    decl = f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n'
    catalog = decl + "<文件目录>\n" + "".join(entries) + "</文件目录>\n"
    (dest / "文件目录.XML").write_bytes(catalog.encode(codec))
    (dest / "其他").mkdir()
    register = (
        decl
        + "<移交登记表>\n"
        + f"  <交接工作名称>{escape(unit)}{year}年度电子档案移交</交接工作名称>\n"
        + f"  <内容描述>{escape(unit)}{year}年度文书档案（{items}件）</内容描述>\n"
        + f"  <移交单位>{escape(unit)}</移交单位>\n"
        + "  <接收单位>岭南省档案馆</接收单位>\n"
        + f"  <移交电子档案数量>{items}</移交电子档案数量>\n"
        + f"  <移交数据量>{total_bytes}</移交数据量>\n"
        + "  <移交载体类型规格>在线</移交载体类型规格>\n"
        + f"  <摘要算法>{digest.upper()}</摘要算法>\n"
        + "".join(digests)
        + "</移交登记表>\n"
    )
    (dest / "其他" / "移交登记表.XML").write_bytes(register.encode(codec))
    description = (
        f"移交单位：{unit}\n"
        f"交接内容：{year}年度文书类电子档案 {items} 件，{n_file} 个文件，{total_bytes} 字节\n"
        "载体参数：在线移交\n"
        "软硬件环境：Linux x86_64；PDF 阅读器、图像浏览器、XML 浏览器\n"
        f"编码：{encoding.upper()}\n"
    )
    (dest / "说明文件.TXT").write_bytes(description.encode(codec))
    return dest


def eep_document(
    *,
    code: str,
    title: str,
    files: Sequence[tuple[str, bytes]],
    fonds: str = "Z109",
    year: int = 2020,
    item_no: int = 1,
    retention: str = "永久",
    author: str = UNIT,
    date: str = "20200101",
    namespace: bool = True,
) -> str:
    """The text of one DA/T 48-2009 EEP (UTF-8) holding one 文件实体 with ``files`` embedded
    as base64 (tests build broken variants from it)."""
    import base64

    docs = []
    for n, (name, data) in enumerate(files, 1):
        fmt = name.rsplit(".", 1)[-1].upper() if "." in name else ""
        docs.append(
            f"""        <文档>
          <文档标识符>{escape(code)}-{n}</文档标识符>
          <文档序号>{n}</文档序号>
          <文档主从声明>{"主文件" if n == 1 else "附件"}</文档主从声明>
          <文档数据 文档数据ID="D{n}">
            <编码 编码ID="E{n}">
              <电子属性>
                <格式信息>{fmt}</格式信息>
                <计算机文件名>{escape(name)}</计算机文件名>
                <计算机文件大小>{len(data)}</计算机文件大小>
                <文档创建程序>Lantai demo</文档创建程序>
              </电子属性>
              <编码描述>本封装包中“编码数据”元素存储的是计算机文件二进制流的Base64编码</编码描述>
              <反编码关键字>base64</反编码关键字>
              <编码数据 编码数据ID="C{n}">{base64.b64encode(data).decode("ascii")}</编码数据>
            </编码>
          </文档数据>
        </文档>
"""
        )
    xmlns = f' xmlns="{EEP_NAMESPACE}"' if namespace else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<电子文件封装包{xmlns}>
  <封装包格式描述>{DESCRIPTION}</封装包格式描述>
  <版本>2009</版本>
  <被签名对象 eep版本="2009">
    <封装包类型>原始型</封装包类型>
    <封装包类型描述>本封装包包含电子文件数据及其元数据，原始封装，未经修改</封装包类型描述>
    <封装包创建时间>{year}-12-31T09:00:00</封装包创建时间>
    <封装包创建单位>{escape(author)}</封装包创建单位>
    <封装内容>
      <文件实体块>
        <文件实体>
          <聚合层次>文件</聚合层次>
          <来源>
            <档案馆名称>岭南省档案馆</档案馆名称>
            <立档单位名称>{escape(author)}</立档单位名称>
          </来源>
          <电子文件号>{escape(code)}</电子文件号>
          <档号>
            <全宗号>{fonds}</全宗号>
            <年度>{year}</年度>
            <保管期限>{escape(retention)}</保管期限>
            <室编件号>{item_no:04d}</室编件号>
          </档号>
          <内容描述>
            <题名>{escape(title)}</题名>
            <责任者>{escape(author)}</责任者>
            <日期>{date}</日期>
            <密级>公开</密级>
          </内容描述>
          <形式特征>
            <文件组合类型>{"单件" if len(files) == 1 else "组合文件"}</文件组合类型>
            <页数>{len(files)}</页数>
          </形式特征>
          <存储位置>
            <脱机载体编号>在线</脱机载体编号>
          </存储位置>
          <文件数据>
{"".join(docs)}          </文件数据>
        </文件实体>
      </文件实体块>
      <业务实体块><业务实体><业务标识符>B1</业务标识符></业务实体></业务实体块>
      <机构人员实体块><机构人员实体><机构人员标识符>A1</机构人员标识符>
        <机构人员名称>{escape(author)}</机构人员名称></机构人员实体></机构人员实体块>
    </封装内容>
  </被签名对象>
</电子文件封装包>
"""


def make_eep_transfer(
    dest: Path, items: int, *, seed: int = 1, fonds: str = "Z109", year: int = 2020
) -> Path:
    """Write ``items`` EEP files (one 文件实体 each, a PDF and a JPEG embedded) into ``dest``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    images = _Images(None, rng)
    topics = year_topics("general", year) or ["机关事务管理"]
    for i in range(1, items + 1):
        code = f"{fonds}-WS·{year}-Y-BGS-{i:04d}"
        title = TEMPLATES[rng.randrange(len(TEMPLATES))].format(
            year=year, topic=topics[rng.randrange(len(topics))]
        )
        files = [
            (f"{code}.pdf", _pdf(f"Lantai EEP {i}", b"")),
            (f"{code}-附件.jpg", images.jpg(code)),
        ]
        text = eep_document(code=code, title=title, files=files, fonds=fonds, year=year, item_no=i)
        (dest / f"{code}.xml").write_text(text, encoding="utf-8")
    return dest
