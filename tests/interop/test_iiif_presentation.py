"""The pure IIIF builders (standards.iiif_presentation): every document they build validates
against the IIIF Presentation 3.0 JSON Schema kept in shared/corpora/schemas (no network)."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import jsonschema
import pytest

from lantai.standards import iiif_presentation as iiif
from tests.interop.conftest import SCHEMAS

BASE = "https://archives.example.cn/iiif"


@functools.cache
def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / "iiif_3_0.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def assert_iiif(doc: dict[str, Any]) -> None:
    """Valid IIIF Presentation 3.0 (the schema's errors listed when not)."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:10])


def canvases(n: int) -> list[iiif.CanvasImage]:
    return [
        iiif.CanvasImage(
            canvas_id=f"{BASE}/canvas/c{100 + i}",
            label=iiif.lang(zh=f"第 {i + 1} 页", en=f"Page {i + 1}"),
            width=800 + i,
            height=1100,
            service_id=f"{BASE}/3/c{100 + i}",
        )
        for i in range(n)
    ]


def parts(n: int, **kw: Any) -> iiif.ManifestParts:
    home = iiif.Link(
        "https://archives.example.cn/public/archives/A62/Z109-WS%C2%B71985-Y-BGS-0001/",
        "Text",
        iiif.lang(zh="关于婚姻登记工作的通知"),
        format="text/html",
    )
    return iiif.ManifestParts(
        id=f"{BASE}/manifest/A62/Z109-WS%C2%B71985-Y-BGS-0001",
        label=iiif.lang(zh="关于婚姻登记工作的通知", en="Notice on marriage registration"),
        summary=iiif.lang(zh="兰州市民政局 1985 年"),
        metadata=[
            (iiif.lang(zh="档号", en="archival code"), iiif.lang(none="Z109-WS·1985-Y-BGS-0001")),
            (iiif.lang(zh="题名", en="title"), iiif.lang(zh="关于婚姻登记工作的通知")),
        ],
        required_statement=(
            iiif.lang(zh="提供者", en="Attribution"),
            iiif.lang(zh="甘肃省档案馆。公众利用的图像带有水印。", en="Gansu Archives."),
        ),
        homepage=home,
        see_also=[
            iiif.Link(
                "https://archives.example.cn/oai?verb=GetRecord",
                "Dataset",
                iiif.lang(en="Dublin Core (OAI-PMH)"),
                format="text/xml",
                profile="http://www.openarchives.org/OAI/2.0/oai_dc/",
            )
        ],
        rendering=[
            iiif.Link(
                "https://archives.example.cn/public/content/9/document.pdf",
                "Text",
                iiif.lang(zh="PDF 文件"),
                format="application/pdf",
            )
        ],
        provider=iiif.Provider(
            "https://archives.example.cn/public/", iiif.lang(zh="甘肃省档案馆"), home
        ),
        canvases=canvases(n),
        **kw,
    )


def test_manifest_with_one_canvas_is_valid() -> None:
    doc = iiif.manifest(parts(1))
    assert_iiif(doc)
    (canvas,) = doc["items"]
    assert (canvas["width"], canvas["height"]) == (800, 1100)
    body = canvas["items"][0]["items"][0]["body"]
    assert body["service"] == [
        {"id": f"{BASE}/3/c100", "type": "ImageService3", "profile": "level1"}
    ]
    assert canvas["items"][0]["items"][0]["motivation"] == "painting"
    assert canvas["items"][0]["items"][0]["target"] == canvas["id"]


def test_manifest_with_many_canvases_keeps_their_order_and_search_service() -> None:
    search = f"{BASE}/search/A62/Z109-WS%C2%B71985-Y-BGS-0001"
    doc = iiif.manifest(parts(250, search_service=search, image_profile="level2"))
    assert_iiif(doc)
    assert [c["width"] for c in doc["items"]] == [800 + i for i in range(250)]
    assert doc["service"] == [{"id": search, "type": "SearchService2"}]
    assert doc["items"][3]["items"][0]["items"][0]["body"]["service"][0]["profile"] == "level2"


def test_chinese_and_english_labels_are_language_maps() -> None:
    doc = iiif.manifest(parts(2))
    assert_iiif(doc)
    assert doc["label"] == {
        "zh-Hans": ["关于婚姻登记工作的通知"],
        "en": ["Notice on marriage registration"],
    }
    assert doc["items"][1]["label"] == {"zh-Hans": ["第 2 页"], "en": ["Page 2"]}
    assert doc["metadata"][0]["value"] == {"none": ["Z109-WS·1985-Y-BGS-0001"]}


def test_rights_only_as_a_uri_the_api_accepts() -> None:
    cc = "http://creativecommons.org/licenses/by-nc/4.0/"
    doc = iiif.manifest(parts(1, rights=cc))
    assert_iiif(doc)
    assert doc["rights"] == cc
    assert "rights" not in iiif.manifest(parts(1))
    with pytest.raises(iiif.PresentationError):
        iiif.manifest(parts(1, rights="版权归档案馆所有"))


def test_a_manifest_without_pages_is_refused() -> None:
    with pytest.raises(iiif.PresentationError):
        iiif.manifest(parts(0))


def test_collection_and_empty_collection_are_valid() -> None:
    items = [
        iiif.manifest_ref(
            f"{BASE}/manifest/A62/Z109-WS-{i}",
            iiif.lang(zh=f"文件{i}"),
            thumbnail_service=f"{BASE}/3/c{i}",
        )
        for i in range(3)
    ] + [iiif.collection_ref(f"{BASE}/collection/fonds/A62/Z109?page=2", iiif.lang(zh="第 2 组"))]
    doc = iiif.collection(
        f"{BASE}/collection/fonds/A62/Z109",
        iiif.lang(zh="兰州市民政局", en="Fonds Z109"),
        items,
        summary=iiif.lang(zh="全宗 Z109"),
    )
    assert_iiif(doc)
    assert [i["type"] for i in doc["items"]] == ["Manifest"] * 3 + ["Collection"]
    assert doc["items"][0]["thumbnail"][0]["id"].endswith("/3/c0/full/200,/0/default.jpg")
    empty = iiif.collection(f"{BASE}/collection/database/A62/red", iiif.lang(zh="空专题"), [])
    assert_iiif(empty)
    assert empty["items"] == []


def test_collection_refuses_embedded_manifests() -> None:
    whole = iiif.manifest(parts(1))
    with pytest.raises(iiif.PresentationError):
        iiif.collection(f"{BASE}/c", iiif.lang(zh="x"), [whole])


def test_search_page_single_and_paged_and_empty() -> None:
    hits = [
        iiif.Hit(
            f"{BASE}/canvas/c100/hit/p1-l{i}",
            f"{BASE}/canvas/c100",
            (10, 20 + i, 300, 40),
            "婚姻登记",
        )
        for i in range(3)
    ]
    single = iiif.search_page(iiif.SearchPage(id=f"{BASE}/search/A62/X?q=婚姻", hits=hits, total=3))
    assert_iiif(single)
    assert "partOf" not in single
    assert single["items"][0]["target"] == f"{BASE}/canvas/c100#xywh=10,20,300,40"
    assert single["items"][0]["motivation"] == "highlighting"
    assert single["items"][0]["body"]["type"] == "TextualBody"

    paged = iiif.search_page(
        iiif.SearchPage(
            id=f"{BASE}/search/A62/X?q=a&page=2",
            hits=hits,
            total=250,
            collection_id=f"{BASE}/search/A62/X?q=a",
            first=f"{BASE}/search/A62/X?q=a&page=1",
            last=f"{BASE}/search/A62/X?q=a&page=3",
            next=f"{BASE}/search/A62/X?q=a&page=3",
            prev=f"{BASE}/search/A62/X?q=a&page=1",
        )  # fmt: skip
    )
    assert_iiif(paged)
    assert paged["partOf"][0]["total"] == 250
    assert paged["next"]["id"].endswith("page=3")

    empty = iiif.search_page(iiif.SearchPage(id=f"{BASE}/search/A62/X?q=无", hits=[], total=0))
    assert_iiif(empty)
    assert empty["items"] == [] and "partOf" not in empty


def test_ignored_parameters_are_named() -> None:
    page = iiif.search_page(
        iiif.SearchPage(id=f"{BASE}/s?q=a", hits=[], total=0, ignored=["user", "date", "user"])
    )
    assert page["ignored"] == ["date", "user"]
    # the schema's AnnotationPage admits no `ignored` (Search 2.0 adds it): the rest is valid
    assert_iiif({k: v for k, v in page.items() if k != "ignored"})


def test_the_schema_check_can_fail() -> None:
    """The validator is not a rubber stamp: broken documents are refused."""
    good = iiif.manifest(parts(2))
    assert_iiif(good)
    for breaking in (
        lambda d: d["items"][0].pop("width"),  # a canvas with height but no width
        lambda d: d.update(label="not a language map"),
        lambda d: d.update(id="urn:not-http"),
        lambda d: d["items"][1].update(height=0),
        lambda d: d.update(rights="https://example.org/my-licence"),
        lambda d: d.update(unknown_property=1),  # a Manifest admits only its own properties
    ):
        broken = copy.deepcopy(good)
        breaking(broken)
        with pytest.raises(AssertionError):
            assert_iiif(broken)
