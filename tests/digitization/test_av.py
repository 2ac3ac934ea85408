"""音像档案: identification and validation with the real ffprobe, access copies with the real
ffmpeg, timecodes. Media are generated with ffmpeg's lavfi sources (1–2 s, small frames)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from lantai.digitization import av
from lantai.digitization.av import MediaInfo, MediaUnreadable, MediaUnsupported, StreamInfo


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=60)


def truncate(src: Path, dest: Path, share: float = 0.6) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: int(len(data) * share)])
    return dest


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("media")
    small = {"size": "160x120", "rate": 25}
    m = {
        "wav": av.generate_sample(d / "tone.wav", "audio", 2),
        "mp3": av.generate_sample(d / "tone.mp3", "audio", 2),
        "mp4": av.generate_sample(d / "clip.mp4", "video", 2, **small),  # type: ignore[arg-type]
        "mxf": av.generate_sample(d / "master.mxf", "video", 2, **small),  # type: ignore[arg-type]
        "mkv": av.generate_sample(d / "master.mkv", "video", 2, **small),  # type: ignore[arg-type]
        "mov": av.generate_sample(d / "tape.mov", "video", 2, **small),  # type: ignore[arg-type]
    }
    # a FLAC whose name says WAV: the content decides
    m["flac_named_wav"] = av.generate_sample(
        d / "really-flac.wav", "audio", 2, codec_args=["-c:a", "flac", "-f", "flac"]
    )
    return m


# --- identification -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "kind", "container", "codecs"),
    [
        ("wav", "audio", "WAV", {"pcm_s16le"}),
        ("mp3", "audio", "MP3", {"mp3"}),
        ("flac_named_wav", "audio", "FLAC", {"flac"}),
        ("mp4", "video", "MP4", {"h264", "aac"}),
        ("mov", "video", "MOV", {"mpeg4", "pcm_s16le"}),
        ("mxf", "video", "MXF", {"mpeg2video", "pcm_s16le"}),
        ("mkv", "video", "MKV", {"ffv1", "flac"}),
    ],
)
def test_accepted_recordings_are_identified_from_their_content(
    media: dict[str, Path], key: str, kind: str, container: str, codecs: set[str]
) -> None:
    info = av.probe(media[key])
    assert (info.kind, info.container) == (kind, container)
    assert {s.codec for s in info.streams} == codecs
    assert info.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert info.size == media[key].stat().st_size
    assert info.audio is not None and info.audio.sample_rate == 48000 and info.audio.channels == 1
    if kind == "video":
        v = info.video
        assert v is not None and (v.width, v.height, v.frame_rate) == (160, 120, 25.0)
        assert v.pixel_format
    else:
        assert info.video is None
    # stored as JSON and read back unchanged
    assert MediaInfo.from_dict(json.loads(json.dumps(info.as_dict()))) == info


def test_cover_art_does_not_make_an_audio_file_a_video(
    media: dict[str, Path], tmp_path: Path
) -> None:
    cover = tmp_path / "cover.png"
    Image.new("RGB", (64, 64), "red").save(cover)
    tagged = tmp_path / "with-cover.mp3"
    ffmpeg("-i", str(media["mp3"]), "-i", str(cover), "-map", "0", "-map", "1", "-c", "copy",
           "-disposition:v", "attached_pic", "-id3v2_version", "3", str(tagged))  # fmt: skip
    info = av.probe(tagged)
    assert info.kind == "audio" and [s.type for s in info.streams] == ["audio"]


# --- refusals -------------------------------------------------------------------------------------


def _bad(media: dict[str, Path], d: Path, case: str) -> Path:
    if case == "zero-byte":
        (d / "empty.mp4").write_bytes(b"")
        return d / "empty.mp4"
    if case == "text-named-mp4":
        (d / "notes.mp4").write_text("这不是视频，只是一段文字。\n" * 50, encoding="utf-8")
        return d / "notes.mp4"
    if case == "png-named-mov":
        Image.new("RGB", (320, 240), "blue").save(d / "still.mov", format="PNG")
        return d / "still.mov"
    if case == "jpeg-in-mp4":  # one picture wrapped as a "video"
        Image.new("RGB", (320, 240), "green").save(d / "p.jpg")
        ffmpeg("-i", str(d / "p.jpg"), "-c:v", "mjpeg", "-frames:v", "1", str(d / "photo.mp4"))
        return d / "photo.mp4"
    if case == "truncated-mp4-faststart":
        return truncate(media["mp4"], d / "cut-faststart.mp4")
    if case == "truncated-mp4":  # index at the end, cut off
        plain = d / "plain.mp4"
        av.generate_sample(
            plain, "video", 2, size="160x120", codec_args=["-c:v", "mpeg4", "-c:a", "aac"]
        )
        return truncate(plain, d / "cut.mp4")
    if case == "truncated-mkv":
        return truncate(media["mkv"], d / "cut.mkv")
    if case == "truncated-mxf":
        return truncate(media["mxf"], d / "cut.mxf")
    if case == "truncated-wav":
        return truncate(media["wav"], d / "cut.wav")
    if case == "audio-file-without-streams":  # a Matroska audio file holding only subtitles
        (d / "s.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\n你好\n", encoding="utf-8")
        ffmpeg(
            "-i",
            str(d / "s.srt"),
            "-map",
            "0",
            "-c:s",
            "srt",
            "-f",
            "matroska",
            str(d / "nothing.mka"),
        )
        return d / "nothing.mka"
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("zero-byte", "文件为空"),
        ("text-named-mp4", "无法读取"),
        ("png-named-mov", "静态图像"),
        ("jpeg-in-mp4", "静态图像"),
        ("truncated-mp4-faststart", "截断"),
        ("truncated-mp4", "无法读取"),  # no index: ffprobe cannot open it at all
        ("truncated-mkv", "截断"),
        ("truncated-mxf", "截断"),
        ("truncated-wav", "截断"),
        ("audio-file-without-streams", "没有音频或视频流"),
    ],
)
def test_bad_recordings_are_refused_with_a_reason(
    media: dict[str, Path], tmp_path: Path, case: str, words: str
) -> None:
    path = _bad(media, tmp_path, case)
    with pytest.raises(MediaUnreadable) as caught:
        av.probe(path)
    assert words in caught.value.message_zh
    assert path.name in caught.value.message_zh and path.name in caught.value.message_en


def test_a_readable_but_unaccepted_container_is_unsupported(tmp_path: Path) -> None:
    ogg = av.generate_sample(tmp_path / "tone.ogg", "audio", 1, codec_args=["-c:a", "libvorbis"])
    with pytest.raises(MediaUnsupported) as caught:
        av.probe(ogg)
    assert "ogg" in caught.value.message_zh and "WAV" in caught.value.message_zh


# --- access copies --------------------------------------------------------------------------------


def _assert_no_leftovers(dest: Path, expected: set[str]) -> None:
    assert {p.name for p in dest.iterdir()} == expected


def _moov_first(path: Path) -> bool:
    data = path.read_bytes()
    return 0 <= data.find(b"moov") < data.find(b"mdat")


def test_video_access_copy_is_web_streamable_h264_at_most_720p(tmp_path: Path) -> None:
    # an HD master with a black first second: the poster must not be black
    master = tmp_path / "master.mxf"
    av.generate_sample(master, "video", 2, size="1920x1080", text="兰台 01", codec_args=[
        "-vf", "drawbox=c=black:t=fill:enable='lt(t,0.15)'",
        "-c:v", "mpeg2video", "-q:v", "8", "-c:a", "pcm_s16le"])  # fmt: skip
    info = av.probe(master)
    dest = tmp_path / "access"
    copy = av.make_access_copy(master, dest, info, threads=1)
    assert copy.path == dest / "master.mp4" and copy.mime_type == "video/mp4"
    out = av.probe(copy.path)
    v, a = out.video, out.audio
    assert v and (v.codec, v.pixel_format, v.width, v.height) == ("h264", "yuv420p", 1280, 720)
    assert a and a.codec == "aac"
    assert out.duration_seconds == pytest.approx(2.0, abs=0.15)
    assert _moov_first(copy.path)
    assert copy.poster and copy.waveform
    with Image.open(copy.poster) as poster:
        assert poster.size == (1280, 720)
        assert max(ImageStat.Stat(poster.convert("L")).extrema[0]) > 100  # not a black frame
    with Image.open(copy.waveform) as wave:
        assert wave.size == (1600, 240) and wave.getbbox() is not None  # something was drawn
    assert "libx264" in copy.command and "+faststart" in copy.command
    _assert_no_leftovers(dest, {"master.mp4", "master.poster.png", "master.waveform.png"})


def test_audio_access_copy_is_aac_m4a_with_waveform(tmp_path: Path) -> None:
    src = tmp_path / "interview.wav"  # 96 kHz, 6 channels: browsers get 48 kHz stereo
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=96000:duration=1.5",
           "-af", "pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0", "-c:a", "pcm_s24le", str(src))  # fmt: skip
    info = av.probe(src)
    assert info.audio and (info.audio.sample_rate, info.audio.channels) == (96000, 6)
    copy = av.make_access_copy(src, tmp_path / "out", info)
    assert copy.path.suffix == ".m4a" and copy.mime_type == "audio/mp4" and copy.poster is None
    out = av.probe(copy.path)
    assert out.kind == "audio" and out.container == "MP4"
    assert out.audio and (out.audio.codec, out.audio.sample_rate, out.audio.channels) == (
        "aac",
        48000,
        2,
    )
    assert copy.waveform and copy.waveform.stat().st_size > 0
    assert _moov_first(copy.path)


def test_a_silent_film_gets_a_poster_but_no_waveform(tmp_path: Path) -> None:
    src = av.generate_sample(
        tmp_path / "silent.mkv", "video", 1, size="176x144", codec_args=["-c:v", "ffv1", "-an"]
    )
    info = av.probe(src)
    assert info.kind == "video" and info.audio is None
    copy = av.make_access_copy(src, tmp_path / "out", info)
    assert copy.poster and copy.poster.exists() and copy.waveform is None
    out = av.probe(copy.path)
    assert out.audio is None and out.video and (out.video.width, out.video.height) == (176, 144)


def test_anamorphic_and_odd_sizes_become_square_even_and_never_larger() -> None:
    def video(w: int, h: int, sar: str = "1:1") -> MediaInfo:
        s = StreamInfo(
            index=0, type="video", codec="dvvideo", width=w, height=h, sample_aspect_ratio=sar
        )
        return MediaInfo("video", "MOV", "mov", 1.0, None, 1, (s,))

    assert av.access_size(video(720, 576, "16:15")) == (768, 576)  # PAL 4:3 tape transfer
    assert av.access_size(video(3840, 2160)) == (1280, 720)
    assert av.access_size(video(641, 361)) == (640, 360)
    assert av.access_size(video(320, 240)) == (320, 240)  # small stays small


def test_a_failed_encode_leaves_no_copy_that_looks_done(
    media: dict[str, Path], tmp_path: Path
) -> None:
    info = av.probe(media["mp4"])
    broken = tmp_path / "clip.mp4"
    broken.write_bytes(media["mp4"].read_bytes()[:2000])  # the file went bad after probing
    dest = tmp_path / "access"
    with pytest.raises(RuntimeError, match="ffmpeg"):
        av.make_access_copy(broken, dest, info)
    _assert_no_leftovers(dest, set())


# --- timecodes ------------------------------------------------------------------------------------


def test_timecodes_round_trip_for_description_segments() -> None:
    assert av.timecode(0) == "00:00:00"
    assert av.timecode(3725.9) == "01:02:05"
    assert av.timecode(100 * 3600) == "100:00:00"
    assert av.parse_timecode("01:02:05") == 3725
    assert av.parse_timecode("02:05.5") == 125.5
    assert av.parse_timecode(" 90 ") == 90
    assert av.parse_timecode("00：01：05") == 65  # full-width colons, as typed in Chinese
    for text in ("", "1:2:3:4", "01:61:00", "00:00:60", "abc", "-5", "1.5:00", "01:02:"):
        with pytest.raises(ValueError, match="时间码格式不正确"):
            av.parse_timecode(text)
    with pytest.raises(ValueError):
        av.timecode(-1)
