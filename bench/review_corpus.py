"""Synthetic corpora for `lantai bench review` (deterministic: the same seed gives the same text).

(a) ``archive_documents``: archive-style Chinese documents of the 1950s–1990s (通知, 决定, 报告, 批复,
    会议纪要, 干部履历表 and 人事档案 forms) with planted personal information and the ground truth spans:
    18-digit resident ID numbers (births 1900–2005, valid ISO 7064 MOD 11-2 check digit, many after a
    context word, some bare, a few with a lower-case x), 15-digit legacy IDs (always with a context word),
    mobile and fixed phones, bank cards (Luhn, 16 or 19 digits), passport numbers, 统一社会信用代码 (GB 32100
    check, GB 11714 organisation code inside). Decoys, also returned with their places: 18-digit numbers
    with a wrong check digit or an impossible date, 文号 (桂政发〔1998〕12号), dates, 档号
    (Z109-WS·2011-Y-BGS-0001), long serial numbers (with 编号/流水号, not ID words), 20-digit numbers (some
    with a valid ID inside them).
(b) ``labelled_items``: catalogue items (title + a short text) labelled sensitive or not, ~12% sensitive
    (personal privacy: a named person + illness, sentence, divorce, sanction …; state-secret marks; foreign
    affairs; ethnic and religious matters). Sensitivity is relational: the same terms appear in
    non-sensitive items without a person (全市开展离婚登记规范化工作) and persons appear without them.
Names are common surnames + given names; places are Guangxi cities and counties.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万严覃莫"
)
GIVEN = list(
    "建国华明军伟平勇志强秀英玉兰桂芳丽红梅春生德福荣海林云峰宝成立新文光辉永庆胜利忠贵娟凤霞金"
    "银坤宏兴涛斌杰振家顺祥瑞翠琼美珍莲淑敏静燕萍雪松柏东南清泉"
)
CITIES = [
    "南宁市", "柳州市", "桂林市", "梧州市", "北海市", "钦州市", "玉林市", "百色市", "河池市", "贵港市",
]  # fmt: skip
COUNTIES = [
    "武鸣县", "横县", "宾阳县", "上林县", "隆安县", "柳江县", "鹿寨县", "融安县", "三江侗族自治县", "阳朔县",
    "临桂县", "灵川县", "全州县", "兴安县", "恭城瑶族自治县", "苍梧县", "藤县", "岑溪县", "合浦县",
    "灵山县", "浦北县", "平南县", "桂平县", "容县", "陆川县", "博白县", "北流县", "田阳县", "田东县",
    "平果县", "靖西县", "那坡县", "凌云县", "西林县", "隆林各族自治县", "昭平县", "钟山县", "南丹县",
    "东兰县", "罗城仫佬族自治县", "环江毛南族自治县", "巴马瑶族自治县", "都安瑶族自治县", "象州县",
    "武宣县", "忻城县", "金秀瑶族自治县", "扶绥县", "宁明县", "龙州县", "大新县", "天等县",
]  # fmt: skip
BUREAUS = [
    "粮食局", "财政局", "教育局", "卫生局", "民政局", "公安局", "水电局", "农业局", "林业局", "商业局",
    "交通局", "供销合作社", "计划委员会", "统计局", "劳动局", "文化局", "物资局", "外贸局", "人民法院",
    "人民检察院", "档案馆", "工商行政管理局", "糖业公司", "机械厂", "化肥厂", "第一中学", "人民医院",
]  # fmt: skip
REGIONS = [
    "450102", "450103", "450105", "450122", "450123", "450202", "450203", "450221", "450222", "450302",
    "450303", "450321", "450322", "450403", "450421", "450502", "450521", "450602", "450621", "450702",
    "450721", "450802", "450821", "450902", "450921", "451002", "451021", "451102", "451121", "451202",
    "451221", "452101", "452122", "452501", "110101", "440103", "430102", "520102", "530102", "360102",
]  # fmt: skip
ID_CONTEXT = ["身份证号：", "身份证号码", "公民身份号码：", "居民身份证", "身份证：", "证件号码："]
ID15_CONTEXT = ["身份证号：", "身份证号码", "原身份证号", "居民身份证："]
PHONE_CONTEXT = ["联系电话：", "电话", "手机：", "联系方式：", "住宅电话"]
BANK_CONTEXT = ["银行卡号：", "工资卡号", "开户账号：", "存折账号", "账号："]
PASSPORT_CONTEXT = ["护照号码：", "护照号", "因公护照", "持护照"]
USCC_CONTEXT = ["统一社会信用代码：", "信用代码", "社会信用代码"]
SERIAL_CONTEXT = ["编号：", "流水号", "凭证号：", "登记编号", "条码"]

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
CN_DIGITS = "〇一二三四五六七八九"


# --- validated numbers -----------------------------------------------------------------------------
def id_check(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(body17, ID_WEIGHTS, strict=True)) % 11]


def luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def luhn_ok(number: str) -> bool:
    return luhn_complete(number[:-1]) == number


def _org_code(rng: random.Random) -> str:
    """A GB 11714 organisation code (8 characters + check), drawn from characters USCC allows."""
    body = "".join(rng.choice(USCC_CHARS[:10] if i < 2 else USCC_CHARS) for i in range(8))
    total = sum(_alnum(c) * w for c, w in zip(body, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def _alnum(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


def uscc_check(body17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def _birth(rng: random.Random, first: int, last: int) -> tuple[int, int, int]:
    year, month = rng.randint(first, last), rng.randint(1, 12)
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return year, month, rng.randint(1, DAYS[month - 1] + (month == 2 and leap))


def make_id18(rng: random.Random, *, valid: bool = True) -> str:
    y, m, d = _birth(rng, 1900, 2005)
    body = f"{rng.choice(REGIONS)}{y:04d}{m:02d}{d:02d}{rng.randint(0, 999):03d}"
    check = id_check(body)
    if not valid:
        check = rng.choice([c for c in "0123456789X" if c != check])
    return body + check


def make_id18_bad_date(rng: random.Random) -> str:
    """18 digits with a correct check digit but a date that cannot be (month 13–19 or day 32+)."""
    y = rng.randint(1900, 2005)
    m, d = (
        (rng.randint(13, 19), rng.randint(1, 28))
        if rng.random() < 0.5
        else (rng.randint(1, 12), rng.randint(32, 39))
    )
    body = f"{rng.choice(REGIONS)}{y:04d}{m:02d}{d:02d}{rng.randint(0, 999):03d}"
    return body + id_check(body)


def make_id15(rng: random.Random) -> str:
    y, m, d = _birth(rng, 1900, 1999)
    return f"{rng.choice(REGIONS)}{y % 100:02d}{m:02d}{d:02d}{rng.randint(0, 999):03d}"


def make_mobile(rng: random.Random) -> str:
    prefix = rng.choice(
        ["130", "131", "133", "135", "136", "137", "138", "139", "150", "158", "186", "189"]
    )
    return prefix + "".join(rng.choice("0123456789") for _ in range(8))


def make_fixed(rng: random.Random) -> str:
    area = rng.choice(["0771", "0772", "0773", "0774", "0775", "0776", "0777", "0778", "0779"])
    local = str(rng.randint(2, 8)) + "".join(rng.choice("0123456789") for _ in range(6))
    return rng.choice([f"{area}-{local}", f"({area}){local}", f"{area}—{local}"])


def make_bankcard(rng: random.Random) -> str:
    prefix = rng.choice(["622202", "621700", "622848", "621661", "622588", "622700", "621226"])
    length = rng.choice([16, 19, 19])
    return luhn_complete(prefix + "".join(rng.choice("0123456789") for _ in range(length - 7)))


def make_passport(rng: random.Random) -> str:
    return rng.choice("EEEGP") + "".join(rng.choice("0123456789") for _ in range(8))


def make_uscc(rng: random.Random) -> str:
    while True:
        body = (
            rng.choice(["91", "92", "12", "11", "52", "51"]) + rng.choice(REGIONS) + _org_code(rng)
        )
        if any(c.isalpha() for c in body):  # an all-digit one could pass for something else
            return body + uscc_check(body)


def person(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.75 else "")
    return rng.choice(SURNAMES) + given


def organ(rng: random.Random) -> str:
    place = rng.choice(COUNTIES if rng.random() < 0.6 else CITIES)
    return place + rng.choice(BUREAUS)


def cn_year(year: int) -> str:
    return "".join(CN_DIGITS[int(c)] for c in str(year))


def cn_number(n: int) -> str:
    """1..31 in Chinese numerals (十七, 二十三)."""
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else ("十" if tens == 1 else CN_DIGITS[tens] + "十")) + (
        CN_DIGITS[ones] if ones else ""
    )


# --- (a) archive documents with planted personal information ---------------------------------------
@dataclass
class Document:
    text: str
    truth: list[dict[str, Any]] = field(default_factory=list)  # planted personal information
    decoys: list[dict[str, Any]] = field(default_factory=list)  # look-alikes that are not


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.truth: list[dict[str, Any]] = []
        self.decoys: list[dict[str, Any]] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def plant(self, value: str, kind: str, *, decoy: bool = False) -> None:
        span = {"start": self.length, "end": self.length + len(value), "text": value, "kind": kind}
        (self.decoys if decoy else self.truth).append(span)
        self.add(value)

    def document(self) -> Document:
        return Document("".join(self.parts), self.truth, self.decoys)


DOC_KINDS = ["通知", "决定", "报告", "批复", "请示", "会议纪要", "干部履历表", "人事档案"]
SUBJECTS = [
    "做好秋季征购粮入库工作", "加强农田水利基本建设", "开展爱国卫生运动", "调整部分职工工资",
    "做好防汛抗旱工作", "整顿财务制度", "开展扫盲识字运动", "建立健全档案工作制度", "发放救灾款物",
    "落实知识分子政策", "推行家庭联产承包责任制", "清理拖欠贷款", "加强民兵组织建设", "做好招工录用工作",
    "办理职工退休手续", "核定干部行政级别", "做好人口普查登记工作", "审批私营企业登记",
]  # fmt: skip
FILLER = [
    "经研究，同意你们的意见，请按照有关规定抓紧办理。",
    "各单位要加强领导，明确责任，确保各项工作落到实处。",
    "请于本月底前将执行情况书面报告县人民政府办公室。",
    "会议认为，当前农业生产形势总体较好，但部分地区受旱严重。",
    "所需经费由县财政列支，专款专用，不得挪作他用。",
    "各公社、各大队要组织社员认真学习，做到家喻户晓。",
    "对工作中出现的新情况、新问题，要及时请示报告。",
    "全县共有职工一万二千余人，其中国营企业职工八千余人。",
    "以上报告如无不妥，请批转各地执行。",
    "特此通知。",
]  # fmt: skip


def _with_context(rng: random.Random, contexts: list[str], p: float = 1.0) -> str:
    return rng.choice(contexts) if rng.random() < p else rng.choice(["", "（", " "])


def _pii_sentence(b: _Builder, rng: random.Random) -> None:
    """One sentence about a person with one or two pieces of planted personal information."""
    name = person(rng)
    b.add(f"{name}，{'男' if rng.random() < 0.6 else '女'}，{rng.choice(COUNTIES)}人，")
    roll = rng.random()
    if roll < 0.40:
        ctx = _with_context(rng, ID_CONTEXT, p=0.75)  # some bare IDs (no context word)
        b.add(ctx)
        value = make_id18(rng)
        if value.endswith("X") and rng.random() < 0.3:
            value = value[:-1] + "x"
        b.plant(value, "id18")
    elif roll < 0.55:
        b.add(rng.choice(ID15_CONTEXT))
        b.plant(make_id15(rng), "id15")
    elif roll < 0.68:
        b.add(rng.choice(PHONE_CONTEXT))
        b.plant(make_mobile(rng) if rng.random() < 0.6 else make_fixed(rng), "phone")
    elif roll < 0.80:
        b.add(rng.choice(BANK_CONTEXT))
        b.plant(make_bankcard(rng), "bankcard")
    elif roll < 0.90:
        b.add(rng.choice(PASSPORT_CONTEXT))
        b.plant(make_passport(rng), "passport")
    else:
        b.add(f"现任{organ(rng)}{rng.choice(['科员', '副股长', '会计', '技术员'])}，单位")
        b.add(rng.choice(USCC_CONTEXT))
        b.plant(make_uscc(rng), "uscc")
    b.add(rng.choice(["。", "；", "。\n"]))


def _decoy_sentence(b: _Builder, rng: random.Random, year: int) -> None:
    roll = rng.random()
    if roll < 0.22:  # an ID with a mistyped check digit, with or without a context word
        b.add(f"{person(rng)}{_with_context(rng, ID_CONTEXT, p=0.6)}")
        b.plant(make_id18(rng, valid=False), "id18-bad-check", decoy=True)
        b.add("（号码有误，待核实）。")
    elif roll < 0.30:
        b.add(f"{rng.choice(SERIAL_CONTEXT)}")
        b.plant(make_id18_bad_date(rng), "id18-bad-date", decoy=True)
        b.add("。")
    elif roll < 0.42:
        b.add("根据")
        prefix = rng.choice(["桂政发", "桂发", "桂政办发", "南府发", "柳政发", "桂人发"])
        b.plant(f"{prefix}〔{year}〕{rng.randint(1, 250)}号", "wenhao", decoy=True)
        b.add("文件精神办理。")
    elif roll < 0.52:
        b.add("档号")
        b.plant(
            f"Z{rng.randint(100, 199)}-WS·{year}-{rng.choice('YCD')}"
            f"-{rng.choice(['BGS', 'RSK', 'CWK', 'ZZK'])}-{rng.randint(1, 9999):04d}",
            "danghao",
            decoy=True,
        )
        b.add("，")
    elif roll < 0.62:
        y, m, d = _birth(rng, 1950, 1999)
        b.add("成文日期")
        b.plant(
            rng.choice([f"{y}年{m}月{d}日", f"{y:04d}{m:02d}{d:02d}", f"{y}.{m:02d}.{d:02d}"]),
            "date",
            decoy=True,
        )
        b.add("。")
    elif roll < 0.80:  # long serials of 12–17 digits, or 15 digits that look like a date
        b.add(rng.choice(SERIAL_CONTEXT))
        n = rng.choice([12, 13, 14, 15, 15, 16, 17])
        b.plant("".join(rng.choice("0123456789") for _ in range(n)), "serial", decoy=True)
        b.add("。")
    else:  # 20-digit numbers, half of them with a valid ID inside
        b.add(rng.choice(["档案条码", "库位码", "票据号"]))
        if rng.random() < 0.5:
            value = str(rng.randint(1, 9)) + make_id18(rng) + str(rng.randint(0, 9))
            value = value.replace("X", "0")
        else:
            value = "".join(rng.choice("0123456789") for _ in range(20))
        b.plant(value, "digits20", decoy=True)
        b.add("。")


def archive_document(rng: random.Random) -> Document:
    b = _Builder()
    year = rng.randint(1950, 1999)
    kind = rng.choice(DOC_KINDS)
    org = organ(rng)
    if kind in ("干部履历表", "人事档案"):
        name = person(rng)
        b.add(f"{kind}\n姓名：{name}  性别：{'男' if rng.random() < 0.6 else '女'}  民族：")
        b.add(rng.choice(["汉族", "壮族", "瑶族", "苗族", "侗族"]))
        b.add(
            f"\n出生年月：{rng.randint(1900, 1975)}年{rng.randint(1, 12)}月  籍贯：广西{rng.choice(COUNTIES)}\n"
        )
        b.add(f"工作单位：{org}\n")
        if rng.random() < 0.7:
            b.add("身份证号：")
            b.plant(
                make_id18(rng) if year >= 1985 or rng.random() < 0.5 else make_id15(rng), "id18"
            )
            if len(b.truth[-1]["text"]) == 15:
                b.truth[-1]["kind"] = "id15"
            b.add("\n")
        b.add(
            "家庭住址：" + rng.choice(CITIES) + rng.choice(["民主路", "人民路", "中山路", "解放路"])
        )
        b.add(f"{rng.randint(1, 300)}号\n")
    else:
        b.add(f"{org}{'文件' if kind != '会议纪要' else ''}\n")
        b.add(f"{org[:2]}发〔{year}〕{rng.randint(1, 199)}号\n")
        b.add(f"关于{rng.choice(SUBJECTS)}的{kind}\n")
    for _ in range(rng.randint(6, 14)):
        roll = rng.random()
        if roll < 0.30:
            _pii_sentence(b, rng)
        elif roll < 0.55:
            _decoy_sentence(b, rng, year)
        else:
            b.add(rng.choice(FILLER))
    b.add(
        f"\n{org}\n{cn_year(year)}年{cn_number(rng.randint(1, 12))}月{cn_number(rng.randint(1, 28))}日\n"
    )
    return b.document()


def archive_documents(count: int, seed: int = 15) -> list[Document]:
    rng = random.Random(seed)
    return [archive_document(rng) for _ in range(count)]


# --- (b) labelled items ---------------------------------------------------------------------------
ILLNESS = ["肺结核", "精神分裂症", "乙型肝炎", "麻风病", "癫痫", "性病", "肝癌", "神经衰弱"]
CRIME = ["贪污", "盗窃", "投机倒把", "流氓", "诈骗", "故意伤害", "挪用公款", "受贿"]
SANCTION = [
    "开除党籍",
    "留党察看一年",
    "撤销党内职务",
    "行政记大过",
    "开除公职",
    "降级",
    "严重警告",
]
RELATIVE = ["其父", "其兄", "其妻", "其舅父", "其岳父"]

PRIVACY_TEMPLATES = [
    ("关于{p}同志病休的报告", "{p}同志患{ill}，经县人民医院诊断需长期休养，经研究同意其病休。"),
    ("{p}{crime}案的判决书", "{p}因{crime}罪被判处有期徒刑{n}年，{extra}"),
    ("关于给予{p}{sanction}处分的决定", "经查，{p}在任{org}会计期间挪用公款，决定给予{sanction}处分。"),
    ("{p}、{q}离婚案调解书", "{p}与{q}因感情不和，经调解自愿离婚，子女由女方抚养。"),
    ("关于{p}劳动教养的决定", "{p}经教育不改，决定对其劳动教养{n}年。"),
    ("{p}同志历史问题的审查结论", "{p}{rel}曾在旧政权任职，经审查，{p}本人历史清楚。"),
    ("关于{p}精神病住院治疗的请示", "{p}精神失常，多次扰乱单位秩序，拟送{city}精神病院住院治疗。"),
    ("{p}的检讨书及处理意见", "{p}承认与他人有不正当男女关系，组织决定给予{sanction}处分。"),
    ("{p}同志的体检报告", "{p}经检查患有{ill}，不宜从事原岗位工作，建议调整。"),
    ("关于{p}自杀身亡的情况报告", "{p}于{y}年{m}月在宿舍自杀身亡，遗书内容另附，现将善后处理情况报告如下。"),
    ("关于{p}超生问题的处理意见", "{p}违反计划生育政策生育第三胎，给予{sanction}处分并处以罚款。"),
    ("{p}吸毒人员登记表", "{p}因吸食毒品被强制戒毒{n}个月，现已解除强制戒毒。"),
    ("关于{p}同志家庭困难补助的申请", "{p}之妻长期患{ill}，家中欠债{n}百元，申请困难补助。"),
    ("{org}关于{p}错案复查的结论", "{p}于{y}年被错划为右派分子，经复查予以改正，恢复名誉。"),
    ("{p}收养子女登记材料", "{p}夫妇婚后无子女，经公证收养{q}为养子，生父母情况另附。"),
    ("关于{p}违纪问题的调查报告", "经调查，{p}多次利用职务之便索要财物，建议给予{sanction}处分。"),
]  # fmt: skip
SECRET_TEMPLATES = [
    ("{y}年战备物资储备计划（机密★二十年）", "本计划属机密★二十年，只发至县团级，阅后收回。"),
    ("关于{county}国防工程选址的请示（绝密）", "绝密★长期。拟在{county}境内选址建设战备工程，具体坐标见附图。"),
    ("{org}涉密人员名册", "本名册为秘密★十年，列入涉密人员管理，严禁复制。"),
    ("民兵武器弹药库分布情况（机密）", "机密★。全{place}民兵武器弹药库共{n}处，位置及储量如下。"),
]  # fmt: skip
FOREIGN_TEMPLATES = [
    ("中越边界勘界谈判内部口径", "关于边界谈判的内部口径，对外不得泄露，我方底线如下。"),
    ("接待外国政要来访的安全保卫方案", "外宾在{city}期间的警卫部署、行车路线及住地安排如下，严格保密。"),
    ("关于外国记者在{county}采访情况的通报", "外国记者擅自进入{county}采访，经交涉已离境，内部通报，不得外传。"),
]  # fmt: skip
ETHNIC_TEMPLATES = [
    ("关于处理{county}民族纠纷的情况报告", "{county}两个村寨因山林权属发生械斗，涉及民族关系，处理情况如下。"),
    ("{county}宗教活动场所非法聚集的调查报告", "近期部分信教群众在{place}非法聚集，现将调查处理情况报告如下。"),
]  # fmt: skip

ROUTINE_TEMPLATES = [
    ("关于{subject}的通知", "各{unit}：为{subject}，现将有关事项通知如下，请认真贯彻执行。"),
    ("{org}{y}年工作总结", "一年来，在县委、县人民政府的正确领导下，我局全面完成了各项工作任务。"),
    ("关于{subject}的请示", "为{subject}，拟申请经费{n}万元，妥否，请批示。"),
    ("关于{subject}的批复", "你局关于{subject}的请示收悉。经研究，同意你们的意见。"),
    ("{county}{y}年统计年报", "全县粮食总产量{n}万吨，比上年增长{m}%，农民人均纯收入稳步提高。"),
    ("关于召开全县{subject}工作会议的通知", "定于{m}月{d}日在县委礼堂召开会议，请各单位主要负责人参加。"),
    ("{org}会议纪要", "会议研究了{subject}等事项，议定如下：一、抓紧落实；二、加强督查。"),
]  # fmt: skip
NO_PERSON_PRIVACY = [
    ("全市开展离婚登记规范化工作的通知", "为规范婚姻登记，各区县民政局要严格审查离婚登记材料，依法办理。"),
    ("关于加强精神病人收治管理工作的通知", "各医疗单位要做好精神病人的收治工作，落实经费保障。"),
    ("{county}人民法院{y}年审判工作总结", "全年共审结刑事案件{n}件，判处有期徒刑{m}人，依法打击了犯罪。"),
    ("关于做好劳动教养场所建设的请示", "为适应劳动教养工作需要，拟扩建劳动教养管理所，请予批准。"),
    ("关于学习贯彻党员纪律处分条例的通知", "各党支部要组织党员认真学习纪律处分的有关规定，增强纪律观念。"),
    ("{county}{y}年结核病防治工作计划", "全县肺结核病人登记管理率要达到百分之九十以上，做好病人随访。"),
    ("关于开展戒毒宣传的通知", "各乡镇要广泛开展禁毒戒毒宣传，营造全民禁毒的良好氛围。"),
    ("{city}计划生育工作情况汇报", "全市出生率控制在千分之十五以内，超生现象明显减少，独生子女领证率提高。"),
    ("关于做好离婚案件调解工作的意见", "各基层法庭要重视离婚案件的调解，维护妇女儿童合法权益。"),
    ("{county}精神卫生工作会议纪要", "会议讨论了精神病防治网络建设和病人救助经费问题。"),
    ("关于右派分子摘帽工作的情况报告", "全县已摘帽{n}人，其余人员的复查改正工作正在进行。"),
    ("{city}收养登记工作统计表", "全年办理收养登记{n}件，其中社会福利院送养{m}件。"),
    ("关于严肃查处违纪案件的通知", "各级纪检组织要加大案件查办力度，对违纪党员依纪给予处分。"),
]  # fmt: skip
PERSON_NO_PRIVACY = [
    ("关于{p}同志任职的通知", "经研究，决定任命{p}同志为{org}副局长，免去其原职务。"),
    ("关于表彰{p}等先进个人的决定", "{p}同志长期扎根基层，工作成绩突出，被评为{y}年度先进工作者。"),
    ("{p}同志在全县三级干部会议上的讲话", "{p}同志强调，要抓好粮食生产，确保完成全年征购任务。"),
    ("关于{p}同志退休的批复", "同意{p}同志退休，退休后享受原工资百分之九十的待遇。"),
    ("{p}同志先进事迹材料", "{p}同志任{org}技术员期间，改进制糖工艺，为国家节约资金{n}万元。"),
    ("关于{p}同志调动工作的通知", "{p}同志调往{org}工作，请办理工资及组织关系转移手续。"),
    ("关于{p}等{n}名同志转正定级的批复", "同意{p}等同志按期转正，定为行政二十三级。"),
    ("{p}同志在{county}检查工作的情况", "{p}同志到{county}检查春耕生产，听取县委汇报。"),
]  # fmt: skip
PERSON_AND_TERM = [  # a person and a privacy term in one sentence, but nothing private about them
    ("{p}同志在全市精神卫生工作会议上的讲话", "{p}同志要求各地加强精神病防治工作，落实病人救助经费。"),
    ("{p}主持召开离婚登记规范化工作座谈会", "民政局副局长{p}主持会议，研究离婚登记规范化工作。"),
    ("{p}同志关于严肃党纪处分工作的讲话", "{p}同志指出，要严格执行纪律处分条例，做到处理恰当。"),
]  # fmt: skip
SAFE_FOREIGN_SECRET = [
    ("关于开展保密宣传教育月活动的通知", "各单位要结合实际开展保密法规宣传教育，增强干部保密意识。"),
    ("{city}与越南友好城市文化交流活动的报告", "应越方邀请，市歌舞团赴越南演出，受到当地群众欢迎。"),
    ("关于加强民族团结进步表彰工作的通知", "各地要做好民族团结进步模范集体和个人的推荐评选工作。"),
    ("{county}宗教事务管理工作总结", "全县依法登记宗教活动场所{n}处，宗教界人士积极参与公益事业。"),
    ("关于接待外国友好代表团参观的安排", "外国友好代表团将参观{county}糖厂和农业示范区，请做好接待准备。"),
]  # fmt: skip
UNITS = ["公社", "乡镇人民政府", "直属单位", "区、县档案馆", "局属各单位"]


@dataclass(frozen=True)
class Item:
    title: str
    body: str
    sensitive: bool  # the truth: the item holds what a 第八条 ground protects
    category: str  # personal_privacy, state_secret, foreign_affairs, ethnic_religious or ""
    group: str  # which template family made it (for per-group figures)
    decided: bool  # the reviewer's decision the classifier learns from (reviewers err sometimes)

    @property
    def text(self) -> str:
        return f"{self.title}。{self.body}"


def _fill(rng: random.Random, template: tuple[str, str]) -> tuple[str, str]:
    p, q = person(rng), person(rng)
    values = {
        "p": p, "q": q, "ill": rng.choice(ILLNESS), "crime": rng.choice(CRIME),
        "sanction": rng.choice(SANCTION), "rel": rng.choice(RELATIVE), "org": organ(rng),
        "city": rng.choice(CITIES), "county": rng.choice(COUNTIES),
        "place": rng.choice(["县", "区", "地区", "市"]), "subject": rng.choice(SUBJECTS),
        "unit": rng.choice(UNITS), "y": rng.randint(1950, 1999), "m": rng.randint(1, 12),
        "d": rng.randint(1, 28), "n": rng.randint(2, 15),
        "extra": rng.choice(["刑满后回原籍。", "现在押。", "缓刑二年执行。", "已提出上诉。"]),
    }  # fmt: skip
    return template[0].format(**values), template[1].format(**values)


# reviewers' errors in the decisions: a sensitive item let through, an open one held back
MISSED, OVER_HELD = 0.05, 0.005


def labelled_items(count: int = 3000, seed: int = 15, sensitive_share: float = 0.12) -> list[Item]:
    """``count`` items, about ``sensitive_share`` sensitive (60% of them personal privacy). Each
    carries the truth and a reviewer's decision that differs from it now and then (``MISSED``,
    ``OVER_HELD``): the classifier learns from decisions, as it would in an archives."""
    rng = random.Random(seed)
    items: list[Item] = []
    sensitive_families = [
        (PRIVACY_TEMPLATES, "personal_privacy", 0.60),
        (SECRET_TEMPLATES, "state_secret", 0.18),
        (FOREIGN_TEMPLATES, "foreign_affairs", 0.11),
        (ETHNIC_TEMPLATES, "ethnic_religious", 0.11),
    ]
    open_families = [
        (ROUTINE_TEMPLATES, "routine", 0.55),
        (NO_PERSON_PRIVACY, "privacy-term-no-person", 0.15),
        (PERSON_NO_PRIVACY, "person-no-privacy", 0.17),
        (PERSON_AND_TERM, "person-and-term", 0.05),
        (SAFE_FOREIGN_SECRET, "open-secret-foreign-ethnic", 0.08),
    ]
    for _ in range(count):
        sensitive = rng.random() < sensitive_share
        families = sensitive_families if sensitive else open_families
        templates, name, _share = rng.choices(families, weights=[f[2] for f in families])[0]
        title, body = _fill(rng, rng.choice(templates))
        if rng.random() < 0.5:  # a routine sentence around it, as catalogue full text has
            body = rng.choice(FILLER) + body if rng.random() < 0.5 else body + rng.choice(FILLER)
        category = name if sensitive else ""
        decided = sensitive != (rng.random() < (MISSED if sensitive else OVER_HELD))
        items.append(Item(title, body, sensitive, category, name, decided))
    return items
