"""A video's own frames under the 2D skeleton, decoded by ffmpeg through ``imageio-ffmpeg``.

Decoding is ffmpeg's (the ``video`` extra: ``pip install gastbench[video]`` brings ``imageio-ffmpeg``
and its ffmpeg binary); gastbench only reads the raw RGB frames ffmpeg pipes out, in order,
scaled by ffmpeg to the size they are drawn at. :func:`probe_video` gives the frame count, size and
rate (``count_frames_and_secs`` decodes the stream once, so the count is the frames there are,
not a container's estimate).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError

__all__ = ["VideoFrames", "VideoInfo", "probe_video"]

INSTALL = "install the video extra: pip install 'gastbench[video]' (imageio-ffmpeg)"


def _ffmpeg() -> Any:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ConfigError(f"reading a video needs imageio-ffmpeg; {INSTALL}") from None
    return imageio_ffmpeg


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    frames: int
    width: int
    height: int
    fps: float


def probe_video(path: str | Path) -> VideoInfo:
    """Frame count, size and frame rate of a video file.

    Raises:
        DataError: no such file, or ffmpeg cannot read it as a video.
        ConfigError: the video extra is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: video file does not exist")
    ffmpeg = _ffmpeg()
    try:
        reader = ffmpeg.read_frames(str(path))
        meta = next(reader)
        reader.close()
        frames, _seconds = ffmpeg.count_frames_and_secs(str(path))
    except (OSError, RuntimeError, StopIteration, ValueError) as exc:
        raise DataError(
            f"{path}: ffmpeg cannot read it as a video ({str(exc).strip().splitlines()[-1][:160] if str(exc).strip() else type(exc).__name__})"
        ) from None
    width, height = (int(v) for v in meta["size"])
    if frames < 1 or width < 1 or height < 1:
        raise DataError(f"{path}: no video frames found")
    return VideoInfo(path, int(frames), width, height, float(meta.get("fps") or 25.0))


class VideoFrames:
    """Frames of a video in order, as ``(height, width, 3)`` uint8 RGB at ``size`` (ffmpeg scales them).

    :meth:`get` serves any frame index; going back restarts decoding (renderers ask in order).
    """

    def __init__(self, info: VideoInfo, size: tuple[int, int] | None = None) -> None:
        self.info = info
        self.size = size or (info.width, info.height)
        self._reader: Iterator[bytes] | None = None
        self._next = 0
        self._current: np.ndarray | None = None

    def _open(self) -> None:
        self.close()
        w, h = self.size
        scale = None if (w, h) == (self.info.width, self.info.height) else ["-vf", f"scale={w}:{h}"]
        self._reader = _ffmpeg().read_frames(str(self.info.path), output_params=scale)
        quiet = logging.getLogger("imageio_ffmpeg")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # it warns that the frames we asked ffmpeg to scale are scaled
        try:
            next(self._reader)  # the metadata
        finally:
            quiet.setLevel(level)
        self._next = 0

    def resize(self, size: tuple[int, int]) -> None:
        """Decode at ``size`` (width, height) from now on: the pixels a panel shows, no more."""
        size = (max(2, int(size[0])), max(2, int(size[1])))
        if size != self.size:
            self.close()
            self.size, self._current, self._next = size, None, 0

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()  # type: ignore[attr-defined]
            self._reader = None

    def get(self, index: int) -> np.ndarray:
        """Frame ``index`` (from 0)."""
        if not 0 <= index < self.info.frames:
            raise DataError(f"{self.info.path}: frame {index} is outside 0..{self.info.frames - 1}")
        if self._reader is None or index < self._next - 1:
            self._open()
        if index == self._next - 1 and self._current is not None:
            return self._current
        w, h = self.size
        assert self._reader is not None
        while self._next <= index:
            try:
                raw = next(self._reader)
            except StopIteration:
                raise DataError(
                    f"{self.info.path}: the video ended at frame {self._next}, before frame {index}"
                ) from None
            self._next += 1
        self._current = np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3)
        return self._current
