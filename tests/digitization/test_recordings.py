"""Audio and video uploaded as an electronic file (上传电子文件, the REST API) becomes a recording
with its access copy, as one added in the 数字化 room does; a damaged one is shown with the reason
it cannot be played; other files stay plain files; batch accept and add_recording keep exactly one
recording per file. Real ffmpeg media, tiny (issue 14 point 5)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lantai.catalog import components
from lantai.catalog.models import Component, Record
from lantai.core import accounts
from lantai.core.api_auth import issue_token
from lantai.core.models import User
from lantai.digitization import av, recordings, services
from lantai.digitization.models import Recording

pytestmark = pytest.mark.django_db(transaction=True)  # the recording is made on commit

PASSWORD = "Qx7!mZ9#kLp2"


@pytest.fixture
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("media")
    wav = av.generate_sample(folder / "tone.wav", "audio", 1)
    mp4 = av.generate_sample(folder / "clip.mp4", "video", 1, size="160x120", rate=10)
    whole = mp4.read_bytes()
    return {"wav": wav.read_bytes(), "mp4": whole, "truncated_mp4": whole[: len(whole) // 2]}


@pytest.fixture
def cataloguer(db: None) -> User:
    return accounts.create_user("zhangsan", role="cataloguer", password=PASSWORD, scope_all=True)


def only_recording(component: Component) -> Recording:
    found = list(Recording.objects.filter(component=component))
    assert len(found) == 1, found
    return found[0]


def record_page(user: User, record: Record) -> str:
    client = Client()
    client.force_login(user)
    return client.get(reverse("web:record", args=[record.pk])).content.decode()


def test_a_wav_uploaded_as_an_electronic_file_is_played_from_its_access_copy(
    make_record: Callable[..., Record], media: dict[str, bytes], cataloguer: User
) -> None:
    record = make_record(1, pages=None)
    client = Client()
    client.force_login(cataloguer)
    response = client.post(
        reverse("web:component_upload", args=[record.pk]),
        {"file": SimpleUploadedFile("局长讲话.wav", media["wav"])},
    )
    assert response.status_code == 302
    recording = only_recording(Component.objects.get(record=record))
    assert recording.status == "done", recording.error  # LANTAI_JOBS_IMMEDIATE: copy made inline
    assert recording.kind == "audio" and recording.info["container"] == "WAV"
    assert recording.source_name == "局长讲话.wav"
    assert recordings.derivative(recording, "copy") is not None
    assert recordings.derivative(recording, "waveform") is not None
    page = record_page(cataloguer, record)
    assert f'id="player-{recording.pk}"' in page and "<audio" in page and "pcm_s16le" in page
    # described like one added in the 数字化 room
    recordings.add_segment(recording, "0", "0.5", "开场", user=cataloguer)
    assert "开场" in record_page(cataloguer, record)


def test_a_truncated_mp4_is_shown_with_the_reason_it_cannot_be_played(
    make_record: Callable[..., Record], media: dict[str, bytes], cataloguer: User
) -> None:
    record = make_record(1, pages=None)
    component = components.attach_component(
        record, [media["truncated_mp4"]], "会议录像.mp4", user=cataloguer
    )
    assert component.mime_type == "video/mp4"  # the file itself is kept, as uploaded
    recording = only_recording(component)
    assert recording.status == "failed" and recording.info == {}
    assert "会议录像.mp4" in recording.error and "截断" in recording.error
    assert component.sm3 not in recording.error  # named as the user knows it
    page = record_page(cataloguer, record)
    assert f"无法播放：{recording.error}" in page
    assert "<video" not in page and "seg-start" not in page  # nothing to play or describe
    # run again (a retry of the job): it is probed anew and keeps its reason
    assert recordings.make_access_copy(recording.pk) == "failed"
    recording.refresh_from_db()
    assert "截断" in recording.error and recording.info == {}
    # the same damage under a name that says nothing: the content gives it away
    other = components.attach_component(record, [media["truncated_mp4"]], "附件", user=None)
    assert only_recording(other).status == "failed"


def test_other_files_stay_plain_files(
    make_record: Callable[..., Record], media: dict[str, bytes]
) -> None:
    record = make_record(1, pages=None)
    files = {
        "请示.pdf": b"%PDF-1.4\n% Lantai\ntrailer<<>>\n%%EOF\n",
        "扫描件.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64),
        "说明.txt": "音像档案说明".encode("utf-16"),  # FF FE: looks like an MPEG frame sync
        "数据.bin": bytes(range(256)) * 4,
    }
    for name, data in files.items():
        components.attach_component(record, [data], name, user=None)
    assert not Recording.objects.exists()
    # an MP4 under a name that says nothing is still a recording, by its content
    video = components.attach_component(record, [media["mp4"]], "录像文件", user=None)
    recording = only_recording(video)
    assert recording.kind == "video" and recording.status == "done", recording.error


def test_batch_accept_and_add_recording_make_one_recording_each(
    tmp_path: Path,
    make_record: Callable[..., Record],
    write_page: Callable[..., Path],
    media: dict[str, bytes],
) -> None:
    from lantai.catalog.services import default_repository

    a, b = make_record(1, pages=1), make_record(2, pages=None)
    folder = tmp_path / "batch"
    write_page(folder / f"{a.reference_code}-0001.jpg", "音像档案数字化转换技术要求")
    (folder / f"{a.reference_code}.wav").write_bytes(media["wav"])
    batch = services.register_batch(folder, user=None, repository=default_repository())
    batch = services.check_batch(batch.pk)
    for page in services.sample_pages(batch):
        services.inspect_page(page, user=None, result="pass")
    services.accept_batch(batch, user=None, reason="警告已复核")
    staged = Recording.objects.get(batch=batch)
    assert staged.component is not None and staged.status == "done", staged.error
    assert Recording.objects.filter(record=a).count() == 1
    page_component = Component.objects.get(record=a, name__endswith=".jpg")
    assert not Recording.objects.filter(component=page_component).exists()

    source = tmp_path / "口述历史.mp4"
    source.write_bytes(media["mp4"])
    added = recordings.add_recording(b, source, user=None)
    assert Recording.objects.filter(record=b).count() == 1
    assert only_recording(Component.objects.get(record=b)).pk == added.pk


def test_the_rest_api_upload_makes_the_recording_too(
    make_record: Callable[..., Record], media: dict[str, bytes], cataloguer: User
) -> None:
    record = make_record(1, pages=None)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(cataloguer, 'test')}")
    url = f"/api/records/{record.pk}/components"
    response = api.post(url, {"file": SimpleUploadedFile("访谈.wav", media["wav"])})
    assert response.status_code == 201, response.content
    recording = only_recording(Component.objects.get(pk=response.json()["id"]))
    assert recording.status == "done" and recording.kind == "audio", recording.error
    response = api.post(url, {"file": SimpleUploadedFile("坏.mov", media["truncated_mp4"])})
    assert response.status_code == 201  # the file is kept; only its playing is refused
    broken = only_recording(Component.objects.get(pk=response.json()["id"]))
    assert broken.status == "failed" and "坏.mov" in broken.error
