"""Audio and video (音像档案): identify and validate digitized recordings with ffprobe, make
web access copies with ffmpeg, and convert description-segment timecodes.

No Django here: the digitization services call these functions from queued jobs and store
`MediaInfo.as_dict()` as JSON. Every external call has a timeout, and every refusal is a
`MediaRejected` with a Chinese and an English message that names the file and the reason.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

FFPROBE = shutil.which("ffprobe") or "ffprobe"
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
PROBE_TIMEOUT_S = 60.0
#: the end of a recording is read back over this many seconds to find truncation
END_WINDOW_S = 5.0

# Containers accepted for digitized recordings, keyed by our name; decided from ffprobe's
# format_name (the content), never from the file suffix.
CONTAINERS: dict[str, str] = {
    "wav": "WAV",
    "flac": "FLAC",
    "mp3": "MP3",
    "mxf": "MXF",
    "matroska,webm": "MKV",
    "mov,mp4,m4a,3gp,3g2,mj2": "MP4",  # MOV when the major brand says QuickTime
}
VIDEO_CODECS = frozenset(
    [
        "h264",
        "hevc",
        "mpeg2video",
        "mpeg1video",
        "mpeg4",
        "prores",
        "dnxhd",
        "ffv1",
        "dvvideo",
        "jpeg2000",
        "rawvideo",
        "v210",
        "mjpeg",
        "vp9",
        "av1",
    ]
)
AUDIO_CODECS = frozenset(
    ["flac", "mp3", "mp2", "aac", "alac", "ac3", "eac3", "opus", "vorbis"]
)  # + any pcm_*
# still-image codecs: a "video" made of one of these and no more than one frame is a picture
IMAGE_CODECS = frozenset(["png", "mjpeg", "bmp", "tiff", "webp", "gif", "jpeg2000", "jpegls"])

# Access copies: H.264 High / yuv420p / AAC in MP4 with the index up front, no larger than 720p.
# veryfast + CRF 23 keeps 3,700 hours affordable on CPUs; quality is ample for viewing.
ACCESS_MAX_W, ACCESS_MAX_H = 1280, 720
X264_PRESET, X264_CRF = "veryfast", 23
KEYFRAME_SECONDS = 2  # seeking to a description segment lands within 2 s
AUDIO_BITRATE = "128k"
WAVEFORM_SIZE = "1600x240"
WAVEFORM_RATE = 8000  # showwavespic keeps every sample until the end: downsample to bound memory


class MediaRejected(Exception):
    """A recording Lantai does not take: `message_zh` for the UI, `message_en` for English."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} ({message_en})")
        self.message_zh, self.message_en = message_zh, message_en


class MediaUnreadable(MediaRejected):
    """ffprobe cannot read it, it is truncated, has no audio/video, or is a still image."""


class MediaUnsupported(MediaRejected):
    """Readable, but not an accepted container or codec for digitized recordings."""


@dataclass(frozen=True)
class StreamInfo:
    index: int
    type: str  # "audio" | "video"
    codec: str
    profile: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    channel_layout: str | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    pixel_format: str | None = None
    sample_aspect_ratio: str | None = None
    field_order: str | None = None
    bit_rate: int | None = None
    duration_seconds: float | None = None


@dataclass(frozen=True)
class MediaInfo:
    kind: Literal["audio", "video"]
    container: str  # WAV | FLAC | MP3 | MP4 | MOV | MXF | MKV
    format_name: str  # ffprobe's
    duration_seconds: float
    bit_rate: int | None
    size: int
    streams: tuple[StreamInfo, ...] = field(default_factory=tuple)

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.type == "video"), None)

    @property
    def audio(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.type == "audio"), None)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaInfo:
        streams = tuple(StreamInfo(**s) for s in data.get("streams", ()))
        return cls(**{**data, "streams": streams})


@dataclass(frozen=True)
class AccessCopy:
    path: Path
    mime_type: str
    poster: Path | None
    waveform: Path | None
    seconds: float  # wall time spent making it
    command: list[str]


# --- probing --------------------------------------------------------------------------------------


def _num(value: Any, kind: type[int] | type[float] = float) -> Any:
    if value in (None, "", "N/A"):
        return None
    try:
        out = kind(float(value)) if kind is int else float(value)
    except (TypeError, ValueError):
        return None
    return out if not (isinstance(out, float) and not math.isfinite(out)) else None


def _rate(text: str | None) -> float | None:
    """'30000/1001' -> 29.97; '0/0' -> None."""
    if not text or text in ("0/0", "N/A"):
        return None
    num, _, den = text.partition("/")
    try:
        value = float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return None
    return round(value, 3) if value > 0 else None


def _ffprobe(args: list[str], path: Path, timeout: float) -> tuple[dict[str, Any], str]:
    cmd = [FFPROBE, "-v", "error", "-print_format", "json", *args, str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise MediaUnreadable(
            f"{path.name}：ffprobe 读取超时（{timeout:.0f} 秒）",
            f"{path.name}: ffprobe timed out after {timeout:.0f} s",
        ) from exc
    err = proc.stderr.strip()
    if proc.returncode != 0:
        reason = err.splitlines()[-1] if err else f"exit {proc.returncode}"
        reason = reason.replace(str(path), path.name)  # no server paths in messages
        raise MediaUnreadable(
            f"{path.name}：无法读取音视频文件（{reason}）",
            f"{path.name}: not a readable audio/video file ({reason})",
        )
    try:
        return json.loads(proc.stdout or "{}"), err
    except json.JSONDecodeError as exc:
        raise MediaUnreadable(
            f"{path.name}：ffprobe 输出无法解析", f"{path.name}: unparsable ffprobe output"
        ) from exc


def _wav_truncated(path: Path) -> bool:
    """A WAV's data chunk declares its length; ffprobe silently takes a shorter file's length
    from the file size, so read the RIFF chunk headers (a few bytes) instead."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return False
        if head[:4] == b"RF64":  # 64-bit sizes live in ds64; the demuxer handles those
            return False
        size = path.stat().st_size
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return False
            cid, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                return bool(f.tell() + length > size)
            f.seek(length + (length & 1), os.SEEK_CUR)


def _check_end(path: Path, info: MediaInfo, start: float, timeout: float) -> None:
    """Truncation, cheaply: read only the packets of the last END_WINDOW_S seconds and check
    that they reach the duration the container declares and lie inside the file."""
    if info.format_name == "wav" and _wav_truncated(path):
        raise MediaUnreadable(
            f"{path.name}：文件被截断（WAV 数据块声明的长度超出文件大小）",
            f"{path.name}: truncated (the WAV data chunk is longer than the file)",
        )
    end = start + info.duration_seconds
    window_start = max(start, end - END_WINDOW_S)
    data, err = _ffprobe(
        [
            "-read_intervals",
            f"{window_start:.3f}%",
            "-show_entries",
            "packet=stream_index,pts_time,dts_time,duration_time,pos,size",
        ],
        path,
        timeout,
    )
    wanted = {s.index for s in info.streams}
    last = None
    beyond = False
    for p in data.get("packets", []):
        if p.get("stream_index") not in wanted:
            continue
        t = _num(p.get("pts_time"))
        t = t if t is not None else _num(p.get("dts_time"))
        if t is not None:
            t_end = t + (_num(p.get("duration_time")) or 0.0)
            last = t_end if last is None else max(last, t_end)
        pos, size = _num(p.get("pos"), int), _num(p.get("size"), int)
        if pos is not None and size is not None and pos + size > info.size:
            beyond = True
    # an MP3 without a Xing/Info header has a duration estimated from its bit rate
    # elsewhere: the streams may end a frame or two apart; short files get a tighter bound
    if info.container == "MP3":
        tolerance = max(1.0, 0.05 * info.duration_seconds)
    else:
        tolerance = min(1.0, max(0.25, 0.1 * info.duration_seconds))
    if beyond or last is None or last < end - tolerance or "partial file" in err:
        reached = "无" if last is None else f"{last:.1f}"
        raise MediaUnreadable(
            f"{path.name}：文件被截断或末尾损坏（声明时长 {info.duration_seconds:.1f} 秒，"
            f"可读数据止于 {reached} 秒）",
            f"{path.name}: truncated or damaged at the end (declared duration "
            f"{info.duration_seconds:.1f} s, readable data ends at "
            f"{'none' if last is None else f'{last:.1f} s'})",
        )


def probe(path: Path, *, check_end: bool = True, timeout: float = PROBE_TIMEOUT_S) -> MediaInfo:
    """Identify and validate a digitized recording. Raises MediaUnreadable (unreadable,
    truncated, no audio/video, a still image) or MediaUnsupported (container/codec)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MediaUnreadable(
            f"{path.name}：文件不存在或无法打开", f"{path.name}: cannot open"
        ) from exc
    if size == 0:
        raise MediaUnreadable(
            f"{path.name}：文件为空（0 字节）", f"{path.name}: empty file (0 bytes)"
        )
    data, _ = _ffprobe(["-show_format", "-show_streams"], path, timeout)
    fmt = data.get("format") or {}
    format_name = str(fmt.get("format_name", ""))
    raw_streams = data.get("streams") or []
    if (
        format_name.endswith("_pipe")
        or format_name in ("image2", "gif", "webp", "apng")
        or (
            raw_streams
            and all(s.get("codec_type") == "video" for s in raw_streams)
            and all(s.get("codec_name") in IMAGE_CODECS for s in raw_streams)
            and (_num(fmt.get("duration")) or 0) <= 0.1
        )
    ):
        codec = raw_streams[0].get("codec_name", format_name) if raw_streams else format_name
        raise MediaUnreadable(
            f"{path.name}：这是静态图像（{codec}），不是音视频文件",
            f"{path.name}: a still image ({codec}), not an audio or video recording",
        )
    streams: list[StreamInfo] = []
    for s in raw_streams:
        ctype = s.get("codec_type")
        if ctype not in ("audio", "video"):
            continue
        if ctype == "video" and (s.get("disposition") or {}).get("attached_pic"):
            continue  # cover art of an audio file
        streams.append(
            StreamInfo(
                index=int(s.get("index", len(streams))),
                type=ctype,
                codec=str(s.get("codec_name", "unknown")),
                profile=s.get("profile"),
                sample_rate=_num(s.get("sample_rate"), int),
                channels=_num(s.get("channels"), int),
                channel_layout=s.get("channel_layout"),
                width=_num(s.get("width"), int),
                height=_num(s.get("height"), int),
                frame_rate=_rate(s.get("avg_frame_rate")) or _rate(s.get("r_frame_rate"))
                if ctype == "video"
                else None,
                pixel_format=s.get("pix_fmt"),
                sample_aspect_ratio=s.get("sample_aspect_ratio"),
                field_order=s.get("field_order"),
                bit_rate=_num(s.get("bit_rate"), int),
                duration_seconds=_num(s.get("duration")),
            )
        )
    if not streams:
        raise MediaUnreadable(
            f"{path.name}：文件中没有音频或视频流", f"{path.name}: no audio or video stream"
        )
    container = CONTAINERS.get(format_name)
    if container is None:
        raise MediaUnsupported(
            f"{path.name}：不接受的封装格式 {format_name}（接受 WAV、FLAC、MP3、MP4、MOV、MXF、MKV）",
            f"{path.name}: container {format_name} is not accepted "
            "(WAV, FLAC, MP3, MP4, MOV, MXF, MKV are)",
        )
    if container == "MP4" and str((fmt.get("tags") or {}).get("major_brand", "")).strip() == "qt":
        container = "MOV"
    for s in streams:
        ok = (
            s.codec in VIDEO_CODECS
            if s.type == "video"
            else s.codec in AUDIO_CODECS or s.codec.startswith("pcm_")
        )
        if not ok:
            raise MediaUnsupported(
                f"{path.name}：不接受的{'视频' if s.type == 'video' else '音频'}编码 {s.codec}",
                f"{path.name}: {s.type} codec {s.codec} is not accepted",
            )
    duration = _num(fmt.get("duration"))
    if duration is None or duration <= 0:
        raise MediaUnreadable(
            f"{path.name}：无法确定时长（文件可能不完整）",
            f"{path.name}: no duration (the file may be incomplete)",
        )
    info = MediaInfo(
        kind="video" if any(s.type == "video" for s in streams) else "audio",
        container=container,
        format_name=format_name,
        duration_seconds=round(duration, 3),
        bit_rate=_num(fmt.get("bit_rate"), int),
        size=size,
        streams=tuple(streams),
    )
    if check_end:
        _check_end(path, info, _num(fmt.get("start_time")) or 0.0, timeout)
    return info


# --- access copies --------------------------------------------------------------------------------


def access_size(info: MediaInfo) -> tuple[int, int] | None:
    """Display size with square pixels, fitted into 1280x720 (never enlarged), even numbers."""
    v = info.video
    if v is None or not v.width or not v.height:
        return None
    width = float(v.width)
    if v.sample_aspect_ratio and ":" in v.sample_aspect_ratio:
        n, d = (float(x) for x in v.sample_aspect_ratio.split(":"))
        if n > 0 and d > 0:
            width = width * n / d  # anamorphic SD tape transfers: 720x576 at 16:15 etc.
    scale = min(1.0, ACCESS_MAX_W / width, ACCESS_MAX_H / v.height)
    return max(2, int(width * scale / 2) * 2), max(2, int(v.height * scale / 2) * 2)


def _video_filter(info: MediaInfo) -> str:
    v = info.video
    assert v is not None
    size = access_size(info)
    assert size is not None
    chain = []
    if v.field_order in ("tt", "bb", "tb", "bt"):
        chain.append("yadif")  # interlaced tape transfers: browsers do not deinterlace
    chain += [f"scale={size[0]}:{size[1]}", "setsar=1", "format=yuv420p"]
    return ",".join(chain)


def access_command(
    src: Path,
    dest: Path,
    info: MediaInfo,
    *,
    threads: int | None = None,
    waveform: Path | None = None,
) -> list[str]:
    """The one ffmpeg command that makes the access copy (and, in the same decode, the
    waveform picture, so the audio is not read twice)."""
    cmd = [FFMPEG, "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", str(src)]
    graph: list[str] = []
    audio = info.audio
    if audio is not None and waveform is not None:
        graph.append(
            f"[0:{audio.index}]asplit=2[aout][awave];"
            f"[awave]aresample={WAVEFORM_RATE},aformat=sample_fmts=s16:channel_layouts=mono,"
            f"showwavespic=s={WAVEFORM_SIZE}:colors=0x1f4e79:filter=peak[wave]"
        )
    if info.video is not None:
        graph.append(f"[0:{info.video.index}]{_video_filter(info)}[vout]")
    if graph:
        cmd += ["-filter_complex", ";".join(graph)]
    if info.video is not None:
        fps = info.video.frame_rate or 25.0
        cmd += ["-map", "[vout]", "-c:v", "libx264", "-preset", X264_PRESET]
        cmd += ["-crf", str(X264_CRF), "-profile:v", "high"]
        cmd += ["-g", str(max(1, round(fps * KEYFRAME_SECONDS)))]
    if audio is not None:
        cmd += ["-map", "[aout]" if waveform is not None else f"0:{audio.index}"]
        cmd += ["-c:a", "aac", "-b:a", AUDIO_BITRATE]
        if (audio.channels or 2) > 2:
            cmd += ["-ac", "2"]
        if (audio.sample_rate or 48000) > 48000:
            cmd += ["-ar", "48000"]
    if threads:
        cmd += ["-threads", str(threads)]
    cmd += ["-movflags", "+faststart", "-map_metadata", "-1", "-f", "mp4", str(dest)]
    if audio is not None and waveform is not None:
        cmd += ["-map", "[wave]", "-frames:v", "1", "-f", "image2", "-c:v", "png", str(waveform)]
    return cmd


def _run(cmd: list[str], timeout: float | None) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"ffmpeg timed out: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def _is_dark(png: Path) -> bool:
    from PIL import Image, ImageStat

    with Image.open(png) as im:
        return max(ImageStat.Stat(im.convert("L")).extrema[0]) < 24


def make_poster(src: Path, dest: Path, info: MediaInfo, *, timeout: float = 120.0) -> Path:
    """A PNG frame at ~10% of the duration (fast input seek); if it is black (a fade, a tape
    leader), try 20%, 30%, 50%."""
    size = access_size(info)
    assert size is not None
    tmp = dest.with_name(f".{dest.name}.part.png")
    for share in (0.1, 0.2, 0.3, 0.5):
        at = info.duration_seconds * share
        cmd = [FFMPEG, "-nostdin", "-v", "error", "-y", "-ss", f"{at:.3f}", "-i", str(src)]
        cmd += ["-map", f"0:{info.video.index}" if info.video else "0:v:0"]
        cmd += ["-vf", _video_filter(info).replace(",format=yuv420p", "")]
        cmd += ["-frames:v", "1", "-f", "image2", "-c:v", "png", str(tmp)]
        _run(cmd, timeout)
        if tmp.exists() and tmp.stat().st_size and not _is_dark(tmp):
            break
    os.replace(tmp, dest)
    return dest


def make_access_copy(
    src: Path,
    dest_dir: Path,
    info: MediaInfo,
    *,
    threads: int | None = None,
    timeout: float | None = None,
) -> AccessCopy:
    """Video: MP4 (H.264 + AAC, faststart, ≤ 720p) + poster PNG + waveform PNG (if it has
    audio). Audio: AAC in .m4a + waveform PNG. The outputs are written under temporary names
    and renamed when complete: a crash never leaves a copy that looks finished. The poster
    (a seek and one frame) is made while the encode runs."""
    src, dest_dir = Path(src), Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stem = src.stem
    is_video = info.kind == "video"
    final = dest_dir / f"{stem}.{'mp4' if is_video else 'm4a'}"
    final_wave = dest_dir / f"{stem}.waveform.png" if info.audio is not None else None
    final_poster = dest_dir / f"{stem}.poster.png" if is_video else None
    work = Path(tempfile.mkdtemp(prefix=f".{stem}.", suffix=".part", dir=dest_dir))
    try:
        tmp = work / final.name
        tmp_wave = work / "waveform.png" if final_wave else None
        cmd = access_command(src, tmp, info, threads=threads, waveform=tmp_wave)
        if is_video:
            # the poster costs one seek and one decoded frame; it runs beside the encode
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(1) as pool:
                poster_job = pool.submit(make_poster, src, work / "poster.png", info)
                _run(cmd, timeout)
                poster_tmp = poster_job.result()
        else:
            _run(cmd, timeout)
            poster_tmp = None
        # the media file last: its presence means the copy is complete
        if final_wave and tmp_wave:
            os.replace(tmp_wave, final_wave)
        if final_poster and poster_tmp:
            os.replace(poster_tmp, final_poster)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return AccessCopy(
        path=final,
        mime_type="video/mp4" if is_video else "audio/mp4",
        poster=final_poster,
        waveform=final_wave,
        seconds=round(time.perf_counter() - started, 3),
        command=cmd,
    )


# --- timecodes ------------------------------------------------------------------------------------

_TIMECODE = re.compile(r"^\d+(?:\.\d+)?$")


def timecode(seconds: float) -> str:
    """0 -> '00:00:00'; 3725.9 -> '01:02:05' (whole seconds, rounded down)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"时间必须是非负数 (time must be a non-negative number): {seconds!r}")
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def parse_timecode(text: str) -> float:
    """'01:02:05', '02:05', '125', '00:01:05.5' (and a full-width colon '：') -> seconds."""
    raw = str(text)
    parts = raw.strip().replace("：", ":").split(":")
    problem = None
    if not raw.strip() or len(parts) > 3 or not all(_TIMECODE.match(p) for p in parts):
        problem = True
    elif any("." in p for p in parts[:-1]):
        problem = True  # only the seconds may have a fraction
    elif len(parts) > 1 and (float(parts[-1]) >= 60 or (len(parts) == 3 and int(parts[1]) >= 60)):
        problem = True
    if problem:
        raise ValueError(
            f"时间码格式不正确：{raw!r}，应为 时:分:秒、分:秒 或 秒，如 01:02:05 "
            f"(invalid timecode {raw!r}; use HH:MM:SS, MM:SS or seconds, e.g. 01:02:05)"
        )
    value = 0.0
    for p in parts:
        value = value * 60 + float(p)
    return value


# --- sample material ------------------------------------------------------------------------------

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _has_drawtext() -> bool:
    try:
        out = subprocess.run(
            [FFMPEG, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return " drawtext " in out


def generate_sample(
    path: Path,
    kind: Literal["audio", "video"],
    seconds: float,
    *,
    text: str | None = None,
    size: str = "640x360",
    rate: int = 25,
    codec_args: list[str] | None = None,
    timeout: float | None = 600.0,
) -> Path:
    """Test and demo material from ffmpeg's lavfi sources: testsrc2 pictures (with a Chinese
    slate line when drawtext and the Noto CJK font are there) and a sine tone. The container
    follows the suffix; `codec_args` overrides the codecs (default: whatever suits the suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [FFMPEG, "-nostdin", "-v", "error", "-y"]
    audio_src = f"sine=frequency=440:beep_factor=4:sample_rate=48000:duration={seconds}"
    if kind == "video":
        video = f"testsrc2=size={size}:rate={rate}:duration={seconds}"
        if text and FONT.exists() and _has_drawtext():
            safe = text.replace("\\", "\\\\").replace("'", "").replace(":", "\\:")
            video += (
                f",drawtext=fontfile={FONT}:text='{safe}':fontsize=h/12:fontcolor=white"
                ":box=1:boxcolor=black@0.6:x=(w-text_w)/2:y=h-2*text_h"
            )
        cmd += ["-f", "lavfi", "-i", video]
    cmd += ["-f", "lavfi", "-i", audio_src]
    if codec_args is None:
        suffix = path.suffix.lower()
        if kind == "video":
            codec_args = {
                ".mxf": ["-c:v", "mpeg2video", "-q:v", "4", "-c:a", "pcm_s16le"],
                ".mkv": ["-c:v", "ffv1", "-c:a", "flac"],
                ".mov": ["-c:v", "mpeg4", "-q:v", "4", "-c:a", "pcm_s16le"],
            }.get(suffix, ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
            if suffix in (".mp4", ".m4v"):
                codec_args += ["-c:a", "aac", "-movflags", "+faststart"]
        else:
            codec_args = {
                ".flac": ["-c:a", "flac"],
                ".mp3": ["-c:a", "libmp3lame", "-q:a", "4"],
                ".m4a": ["-c:a", "aac"],
            }.get(suffix, ["-c:a", "pcm_s16le"])
    cmd += [*codec_args, "-shortest", str(path)]
    _run(cmd, timeout)
    return path
