"""The 2D input (over the video's own frames, when given), one or more 3D panels, per frame.

One figure is built once (:mod:`.figure`: sizes, fitted 3D axes) and its static part (axes, ticks, labels, panes) drawn once; each
frame then only moves the line artists (``set_data`` / ``set_data_3d``), rewrites the per-frame
texts and blits them onto the saved background, and the writer takes the canvas buffer as it
is (a full ``savefig`` per frame costs ~50x more, mostly re-laying-out tick labels).
GIFs go through matplotlib's Pillow writer; MP4 through its ffmpeg writer when an ffmpeg is
found (on the PATH or shipped by the ``imageio-ffmpeg`` package), else the GIF is written instead.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ShapeError
from ..outputs import replacing_path
from .figure import DEFAULT_DPI, Keypoints2D, PoseTrack, build_figure
from .style import use_agg

#: GIF palette size: the skeleton colours, black text and grey axes, with antialiasing shades.
_GIF_COLORS = 64

__all__ = ["Keypoints2D", "PoseTrack", "RenderReport", "find_ffmpeg", "render_animation", "render_frame"]


@dataclass(frozen=True)
class RenderReport:
    path: Path
    frames: int
    seconds: float
    writer: str
    note: str = ""


def _whole_frames(arr: np.ndarray, what: str) -> None:
    """Each pose (last two axes) is all finite (present) or all NaN (absent); a single missing joint is an error."""
    finite = np.isfinite(arr).reshape(arr.shape[:-2] + (-1,))
    partial = finite.any(axis=-1) & ~finite.all(axis=-1)
    if partial.any() or np.isinf(arr).any():
        raise ShapeError(f"{what}: holds NaN or inf inside a pose; nothing sensible to draw (fill the missing joints)")


def _check(inputs: Keypoints2D | None, tracks: Sequence[PoseTrack]) -> int:
    if not tracks and inputs is None:
        raise ConfigError("nothing to draw: give 2D keypoints or at least one 3D pose track")
    lengths = []
    for t in tracks:
        if t.poses.ndim != 3 or t.poses.shape[1:] != (t.layout.num_joints, 3):
            raise ShapeError(
                f"{t.title}: poses must be (T, {t.layout.num_joints}, 3) for layout {t.layout.name!r}, got {tuple(t.poses.shape)}"
            )
        if t.error_mm is not None and t.error_mm.shape != (t.poses.shape[0],):
            raise ShapeError(f"{t.title}: per-frame error must be ({t.poses.shape[0]},), got {tuple(t.error_mm.shape)}")
        _whole_frames(np.asarray(t.poses), t.title)
        lengths.append(t.poses.shape[0])
    if inputs is not None:
        kp = np.asarray(inputs.keypoints)
        if kp.ndim not in (3, 4) or kp.shape[-2:] != (inputs.layout.num_joints, 2):
            raise ShapeError(
                f"2D keypoints must be (T, {inputs.layout.num_joints}, 2) or (P, T, J, 2), got {tuple(kp.shape)}"
            )
        if inputs.labels is not None and len(inputs.labels) != inputs.people.shape[0]:
            raise ShapeError(f"2D panel: {len(inputs.labels)} labels for {inputs.people.shape[0]} people")
        _whole_frames(inputs.people, "2D input")
        lengths.append(inputs.people.shape[1])
        if inputs.video is not None and inputs.video.info.frames != lengths[-1]:
            raise ShapeError(
                f"{inputs.video.info.path}: {inputs.video.info.frames} video frames, but {lengths[-1]} frames of keypoints"
            )
    if len(set(lengths)) != 1:
        raise ShapeError(f"panels disagree on the frame count: {lengths}")
    return lengths[0]


def _blit_writer(suffix: str, fps: float) -> Any:
    """matplotlib's own Pillow / ffmpeg writer, taking each frame from the already-blitted canvas."""
    from matplotlib import animation
    from PIL import Image

    if suffix == ".mp4":

        class BlitFFMpegWriter(animation.FFMpegWriter):
            def grab_frame(self, **savefig_kwargs: Any) -> None:
                writer: Any = self  # matplotlib's writers keep their ffmpeg process untyped, in ``_proc``
                canvas: Any = self.fig.canvas  # an Agg canvas, which the stubs type as the base class
                writer._proc.stdin.write(canvas.buffer_rgba())

        # x264's "veryfast" preset: several times less encoding work than its default for line art and video
        return BlitFFMpegWriter(
            fps=fps,  # type: ignore[arg-type]  # stubs say int; 29.97 fps is a float
            bitrate=-1,
            extra_args=["-pix_fmt", "yuv420p", "-preset", "veryfast"],
        )

    class BlitPillowWriter(animation.PillowWriter):
        """Frames share one palette taken from the first (line art on white needs few colours), so
        Pillow maps each frame to it instead of computing an adaptive palette per frame."""

        def grab_frame(self, **savefig_kwargs: Any) -> None:
            writer: Any = self  # matplotlib's Pillow writer keeps its frames untyped, in ``_frames``
            canvas: Any = self.fig.canvas  # an Agg canvas, which the stubs type as the base class
            size = canvas.get_width_height()
            rgb = Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
            if not writer._frames:
                writer._palette = rgb.quantize(colors=_GIF_COLORS, method=Image.Quantize.MEDIANCUT)
            writer._frames.append(rgb.quantize(palette=writer._palette, dither=Image.Dither.NONE))

    return BlitPillowWriter(fps=fps)  # type: ignore[arg-type]  # stubs say int; 29.97 fps is a float


def find_ffmpeg() -> bool:
    """True when matplotlib's ffmpeg writer can run: on the PATH, or the one ``imageio-ffmpeg`` ships."""
    from matplotlib import animation, rcParams

    if animation.writers.is_available("ffmpeg"):
        return True
    try:
        import imageio_ffmpeg
    except ImportError:
        return False
    rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    return animation.writers.is_available("ffmpeg")


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise ConfigError(f"{out} already exists; pass --overwrite to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)


def render_animation(
    inputs: Keypoints2D | None,
    tracks: Sequence[PoseTrack],
    out: str | Path,
    *,
    frames: Sequence[int] | None = None,
    fps: float = 25.0,
    dpi: int = DEFAULT_DPI,
    overwrite: bool = False,
) -> RenderReport:
    """Write an animation (``.gif``, or ``.mp4`` when an ffmpeg is found, else a ``.gif`` beside it)."""
    total = _check(inputs, tracks)
    out = Path(out)
    if out.suffix.lower() not in (".gif", ".mp4"):
        raise ConfigError(f"{out}: animations are written as .gif or .mp4")
    chosen = list(range(total)) if frames is None else [int(f) for f in frames]
    if not chosen or min(chosen) < 0 or max(chosen) >= total:
        raise ConfigError(
            f"frames must lie in 0..{total - 1}, got {len(chosen)} frames from {min(chosen, default=None)} to {max(chosen, default=None)}"
        )
    use_agg()
    note = ""
    if out.suffix.lower() == ".mp4" and not find_ffmpeg():
        note = f"no ffmpeg found (install gastbench[video] for imageio-ffmpeg); wrote a GIF instead of {out.name}"
        out = out.with_suffix(".gif")
    writer = _blit_writer(out.suffix.lower(), fps)
    _check_out(out, overwrite)
    started = time.perf_counter()
    built = build_figure(inputs, tracks, dpi, paste_video=True)
    fig, update, moving = built.fig, built.update, built.moving
    try:
        for artist in moving:
            artist.set_animated(True)  # left out of the background draw
        canvas = fig.canvas
        canvas.draw()
        background = canvas.copy_from_bbox(fig.bbox)
        with replacing_path(out) as tmp, writer.saving(fig, str(tmp), dpi):
            for t in chosen:
                update(t)
                canvas.restore_region(background)
                if built.underlay is not None:
                    built.underlay(np.asarray(canvas.buffer_rgba()), t)
                for artist in moving:
                    if hasattr(artist, "do_3d_projection"):
                        artist.do_3d_projection()  # a 3D axes' own draw would do this; draw_artist does not
                    artist.axes.draw_artist(artist)
                writer.grab_frame()
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
        if inputs is not None and inputs.video is not None:
            inputs.video.close()
    name = "ffmpeg" if out.suffix.lower() == ".mp4" else "pillow"
    return RenderReport(out, len(chosen), time.perf_counter() - started, name, note)


def render_frame(
    inputs: Keypoints2D | None,
    tracks: Sequence[PoseTrack],
    out: str | Path,
    frame: int,
    *,
    dpi: int = DEFAULT_DPI,
    overwrite: bool = False,
) -> RenderReport:
    """Write one frame as a still image (PNG, or any format matplotlib saves)."""
    total = _check(inputs, tracks)
    if not 0 <= frame < total:
        raise ConfigError(f"frame {frame} is outside 0..{total - 1}")
    out = Path(out)
    _check_out(out, overwrite)
    started = time.perf_counter()
    built = build_figure(inputs, tracks, dpi)
    fig, update = built.fig, built.update
    try:
        update(frame)
        with replacing_path(out) as tmp:
            fig.savefig(tmp, dpi=dpi, format=out.suffix.lstrip(".") or None)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return RenderReport(out, 1, time.perf_counter() - started, "savefig")
