"""`lantai bench av`: access copies of a generated digitized video master.

Target (issue 14): Lantai makes the access copy at ≥ 0.9× the speed of the plain ffmpeg command
doing the same encode. Lantai's time counts everything it does for a recording: `probe` (with the
truncation check at the end of the file), the encode, the waveform picture (drawn in the same
ffmpeg run from the same decoded audio) and the poster frame (a seek and one frame, run beside the
encode). The peer is `av.access_command(..., waveform=None)`: the same codec settings, filters and
threads, and nothing else.

Material: `minutes` of testsrc2 + a sine tone, MPEG-2 long-GOP at a high bit rate with PCM audio
in MXF (what a tape digitization line delivers), generated once, synced and read once untimed so
both contenders find it in the page cache. Contenders run alternately for `rounds` rounds; the
best of each counts (other load on the machine only adds time).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from lantai.digitization import av  # noqa: E402

TARGET = 0.9


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - started


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _warm(path: Path) -> float:
    started = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(1 << 22)
        while f.readinto(buf):
            pass
    return round(time.perf_counter() - started, 2)


def _moov_before_mdat(path: Path) -> bool:
    """Web-streamable MP4: the index (moov) comes before the media data (mdat)."""
    with open(path, "rb") as f:
        while True:
            head = f.read(8)
            if len(head) < 8:
                return False
            size, kind = int.from_bytes(head[:4], "big"), head[4:]
            if kind == b"moov":
                return True
            if kind == b"mdat":
                return False
            if size == 1:
                size = int.from_bytes(f.read(8), "big") - 8
            f.seek(size - 8, os.SEEK_CUR)


def _ffmpeg_version() -> str:
    out = subprocess.run([av.FFMPEG, "-version"], capture_output=True, text=True)
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


def run(
    minutes: float = 10.0,
    out: Path | None = None,
    *,
    size: str = "1280x720",
    rate: int = 25,
    threads: int | None = None,
    rounds: int = 2,
    bitrate: str = "30M",
) -> dict[str, Any]:
    threads = threads or os.cpu_count() or 2
    seconds = round(minutes * 60, 3)
    work = Path(tempfile.mkdtemp(prefix="lantai-bench-av-"))
    try:
        master = work / "master.mxf"
        codec = ["-c:v", "mpeg2video", "-b:v", bitrate, "-maxrate", bitrate, "-bufsize", "8M"]
        codec += ["-g", "12", "-c:a", "pcm_s16le"]
        _, generate_s = _timed(
            av.generate_sample, master, "video", seconds, text="兰台 音像档案 基准测试",
            size=size, rate=rate, codec_args=codec, timeout=None,
        )  # fmt: skip
        os.sync()
        warm_s = _warm(master)

        lantai_runs: list[dict[str, Any]] = []
        peer_runs: list[float] = []
        peer_cpu: list[float] = []
        copy = None
        for n in range(rounds):
            # peer: the same encode, nothing else (needs the probe only to build the command)
            info = av.probe(master)
            peer_out = work / f"peer-{n}.mp4"
            peer_cmd = av.access_command(master, peer_out, info, threads=threads, waveform=None)
            cpu = _children_cpu()
            _, peer_s = _timed(subprocess.run, peer_cmd, check=True, capture_output=True)
            peer_runs.append(round(peer_s, 3))
            peer_cpu.append(round(_children_cpu() - cpu, 2))
            peer_out.unlink()

            # Lantai: probe (with the end check) + access copy + waveform + poster
            dest = work / f"lantai-{n}"
            cpu, started = _children_cpu(), time.perf_counter()
            info, probe_s = _timed(av.probe, master)
            copy = av.make_access_copy(master, dest, info, threads=threads)
            total = time.perf_counter() - started
            lantai_runs.append(
                {"seconds": round(total, 3), "probe_seconds": round(probe_s, 3),
                 "make_access_copy_seconds": copy.seconds,
                 "cpu_seconds": round(_children_cpu() - cpu, 2)}
            )  # fmt: skip
            if n < rounds - 1:
                shutil.rmtree(dest)

        assert copy is not None
        _, poster_alone_s = _timed(av.make_poster, master, work / "poster-alone.png", info)
        result_info = av.probe(copy.path)
        v = result_info.video
        checks = {
            "access_copy_h264_yuv420p": bool(
                v and v.codec == "h264" and v.pixel_format == "yuv420p"
            ),
            "access_copy_le_720p": bool(v and (v.height or 0) <= 720 and (v.width or 0) <= 1280),
            "access_copy_has_aac": bool(result_info.audio and result_info.audio.codec == "aac"),
            "duration_matches_master": abs(result_info.duration_seconds - info.duration_seconds)
            < 0.5,
            "faststart_moov_before_mdat": _moov_before_mdat(copy.path),
            "poster_png": bool(copy.poster and copy.poster.stat().st_size > 0),
            "waveform_png": bool(copy.waveform and copy.waveform.stat().st_size > 0),
        }
        access_bytes = copy.path.stat().st_size
        master_bytes = master.stat().st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)

    best = min(lantai_runs, key=lambda r: r["seconds"])
    peer_best = min(peer_runs)
    ratio = round(peer_best / best["seconds"], 3)
    result: dict[str, Any] = {
        "benchmark": "audio/video access copy (音像档案利用副本)",
        "target": f"Lantai (probe + access copy + waveform + poster) >= {TARGET} x the speed of "
        "the plain ffmpeg command doing the same encode",
        "material": {
            "seconds": seconds,
            "minutes": minutes,
            "video": f"testsrc2 {size} {rate} fps, MPEG-2 {bitrate}b/s long GOP (12)",
            "audio": "sine 48 kHz mono, PCM s16le",
            "container": "MXF",
            "bytes": master_bytes,
            "generate_seconds": round(generate_s, 1),
            "cache": f"synced, then read once untimed ({warm_s} s): warm page cache for both",
        },
        "settings": {
            "video": f"libx264 -preset {av.X264_PRESET} -crf {av.X264_CRF} -profile:v high, "
            f"yuv420p, <= {av.ACCESS_MAX_W}x{av.ACCESS_MAX_H}, keyframe every "
            f"{av.KEYFRAME_SECONDS} s",
            "audio": f"AAC {av.AUDIO_BITRATE}",
            "mp4": "-movflags +faststart",
            "threads": threads,
        },
        "rounds": f"best of {rounds} (peer and Lantai alternating)",
        "lantai": {
            **best,
            "all_rounds_seconds": [r["seconds"] for r in lantai_runs],
            "all_rounds_cpu_seconds": [r["cpu_seconds"] for r in lantai_runs],
            "speed_x_realtime": round(seconds / best["seconds"], 2),
            "poster_seconds_if_run_alone": round(poster_alone_s, 3),
            "how_extras_are_made": "waveform: same ffmpeg run (asplit of the decoded audio, "
            "downsampled to 8 kHz mono, showwavespic); poster: seek + one frame, in a thread "
            "beside the encode; probe: ffprobe of the header + the last 5 s of packets",
            "access_copy_bytes": access_bytes,
            "command": [Path(c).name if c.startswith("/tmp") else c for c in copy.command],
        },
        "peer": {
            "seconds": peer_best,
            "all_rounds_seconds": peer_runs,
            "cpu_seconds": min(peer_cpu),
            "all_rounds_cpu_seconds": peer_cpu,
            "speed_x_realtime": round(seconds / peer_best, 2),
            "command": "av.access_command(master, out, info, threads, waveform=None): the same "
            "ffmpeg encode without the waveform branch",
        },
        "ratio": ratio,
        "cpu_ratio": {
            "value": round(min(peer_cpu) / min(r["cpu_seconds"] for r in lantai_runs), 3),
            "note": "peer CPU seconds / Lantai CPU seconds (user + sys of the ffmpeg/ffprobe "
            "processes, best round each): less sensitive to other load on a shared machine",
        },
        "checks": checks,
        "meets_target": {f"ratio_ge_{TARGET}": ratio >= TARGET, "checks": all(checks.values())},
        "machine": {**common.machine(), "ffmpeg": _ffmpeg_version()},
    }
    result["saved_to"] = str(common.save("av", result, out))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = run(args.minutes, args.out, size=args.size, threads=args.threads, rounds=args.rounds)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
