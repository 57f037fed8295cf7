"""The 2D input, one or more 3D predictions and the ground truth, side by side, per frame.

One figure is built once and its static part (axes, ticks, labels, panes) drawn once; each
frame then only moves the line artists (``set_data`` / ``set_data_3d``), rewrites the per-frame
texts and blits them onto the saved background, and the writer takes the canvas buffer as it
is (a full ``savefig`` per frame costs ~50x more, mostly re-laying-out tick labels).
GIFs go through matplotlib's Pillow writer; MP4 through its ffmpeg writer when an ffmpeg is
found (on the PATH or shipped by the ``imageio-ffmpeg`` package), else the GIF is written instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..outputs import replacing_path
from ..errors import ConfigError, ShapeError
from ..skeleton import Skeleton
from .style import LEFT, RIGHT, bone_colors, camera_to_plot, use_agg

#: GIF palette size: the skeleton colours, black text and grey axes, with antialiasing shades.
_GIF_COLORS = 64

__all__ = ["Keypoints2D", "PoseTrack", "RenderReport", "find_ffmpeg", "render_animation", "render_frame"]


@dataclass(frozen=True)
class PoseTrack:
    """One 3D panel: camera-frame, root-relative poses in metres, and optionally the per-frame error."""

    title: str
    poses: np.ndarray  # (T, J, 3)
    layout: Skeleton
    error_mm: np.ndarray | None = None  # (T,)


@dataclass(frozen=True)
class Keypoints2D:
    """The 2D panel: pixels when ``image_size`` is known, else screen-normalised coordinates."""

    keypoints: np.ndarray  # (T, J, 2)
    layout: Skeleton
    image_size: tuple[int, int] | None = None
    title: str = "2D input"


@dataclass(frozen=True)
class RenderReport:
    path: Path
    frames: int
    seconds: float
    writer: str
    note: str = ""


def _check(inputs: Keypoints2D | None, tracks: Sequence[PoseTrack]) -> int:
    if not tracks and inputs is None:
        raise ConfigError("nothing to draw: give 2D keypoints or at least one 3D pose track")
    lengths = []
    for t in tracks:
        if t.poses.ndim != 3 or t.poses.shape[1:] != (t.layout.num_joints, 3):
            raise ShapeError(f"{t.title}: poses must be (T, {t.layout.num_joints}, 3) for layout {t.layout.name!r}, got {tuple(t.poses.shape)}")
        if t.error_mm is not None and t.error_mm.shape != (t.poses.shape[0],):
            raise ShapeError(f"{t.title}: per-frame error must be ({t.poses.shape[0]},), got {tuple(t.error_mm.shape)}")
        lengths.append(t.poses.shape[0])
    if inputs is not None:
        if inputs.keypoints.ndim != 3 or inputs.keypoints.shape[1:] != (inputs.layout.num_joints, 2):
            raise ShapeError(f"2D keypoints must be (T, {inputs.layout.num_joints}, 2), got {tuple(inputs.keypoints.shape)}")
        lengths.append(inputs.keypoints.shape[0])
    if len(set(lengths)) != 1:
        raise ShapeError(f"panels disagree on the frame count: {lengths}")
    for arr, what in [(t.poses, t.title) for t in tracks] + ([(inputs.keypoints, "2D input")] if inputs else []):
        if not np.all(np.isfinite(arr)):
            raise ShapeError(f"{what}: holds NaN or inf; nothing sensible to draw")
    return lengths[0]


def _radius(tracks: Sequence[PoseTrack]) -> float:
    """Half the side of the 3D box: the poses' extent, rounded up to 0.25 m (so ticks read well)."""
    if not tracks:
        return 1.0
    extent = np.concatenate([np.abs(t.poses).reshape(-1) for t in tracks])
    return float(max(0.5, np.ceil(np.percentile(extent, 99.5) * 1.05 * 4) / 4))


def _legend(fig: Any) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=LEFT, lw=2, label="left"), Line2D([], [], color=RIGHT, lw=2, label="right")]
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, fontsize=7)


def _build(
    inputs: Keypoints2D | None, tracks: Sequence[PoseTrack], dpi: int, panel_inches: float
) -> tuple[Any, Callable[[int], None], list[Any]]:
    """The figure, a function that moves every artist to frame ``t``, and those moving artists."""
    use_agg()
    import matplotlib.pyplot as plt

    n = len(tracks) + (inputs is not None)
    fig = plt.figure(figsize=(panel_inches * n, panel_inches + 0.35), dpi=dpi)
    updaters: list[Callable[[int], None]] = []
    moving: list[Any] = []
    col = 1
    if inputs is not None:
        ax = fig.add_subplot(1, n, col)
        col += 1
        kp = np.asarray(inputs.keypoints, dtype=np.float64)
        from matplotlib.collections import LineCollection

        edges = inputs.layout.edges
        bones2d = LineCollection([], colors=bone_colors(inputs.layout), linewidths=1.6)
        ax.add_collection(bones2d)
        ends2d = np.array(edges)
        if inputs.image_size is not None:
            w, h = inputs.image_size
            ax.set_xlim(0, w)
            ax.set_ylim(h, 0)  # image rows grow downwards
            ax.set_xlabel("x (px)", fontsize=7)
            ax.set_ylabel("y (px)", fontsize=7)
        else:
            lo, hi = kp.min(axis=(0, 1)), kp.max(axis=(0, 1))
            pad = 0.1 * float(np.max(hi - lo))
            ax.set_xlim(lo[0] - pad, hi[0] + pad)
            ax.set_ylim(hi[1] + pad, lo[1] - pad)
            ax.set_xlabel("x (normalised)", fontsize=7)
            ax.set_ylabel("y (normalised, down)", fontsize=7)
        ax.set_aspect("equal", adjustable="box")
        ax.tick_params(labelsize=6)
        ax.set_title(inputs.title, fontsize=8)
        moving.append(bones2d)  # per-frame texts are costly to lay out; only the errors change

        def move_2d(t: int, kp: np.ndarray = kp) -> None:
            bones2d.set_segments(kp[t][ends2d])  # (bones, 2 ends, 2)

        updaters.append(move_2d)
    radius = _radius(tracks)
    for track in tracks:
        ax = fig.add_subplot(1, n, col, projection="3d")
        col += 1
        ax.view_init(elev=15.0, azim=-70.0)
        ax.set_xlim(-radius, radius)
        ax.set_ylim(-radius, radius)
        ax.set_zlim(-radius, radius)
        ax.set_box_aspect((1, 1, 1))
        ax.set_xlabel("x (m)", fontsize=7, labelpad=-8)
        ax.set_ylabel("depth (m)", fontsize=7, labelpad=-8)
        ax.set_zlabel("up (m)", fontsize=7, labelpad=-8)
        ticks = [-radius, 0.0, radius]
        ax.set_xticks(ticks), ax.set_yticks(ticks), ax.set_zticks(ticks)
        ax.tick_params(labelsize=5, pad=-3)
        ax.set_title(track.title, fontsize=8)
        pts = camera_to_plot(track.poses)
        from mpl_toolkits.mplot3d.art3d import Line3DCollection

        ends3d = np.array(track.layout.edges)
        bones3d = Line3DCollection(pts[0][ends3d], colors=bone_colors(track.layout), linewidths=1.6)
        ax.add_collection3d(bones3d, autolim=False)
        error_text = ax.text2D(0.5, 0.93, "", transform=ax.transAxes, ha="center", fontsize=7)
        moving += [bones3d] + ([error_text] if track.error_mm is not None else [])

        def move_3d(
            t: int, pts: np.ndarray = pts, bones: Any = bones3d, text: Any = error_text, track: PoseTrack = track,
            ends: np.ndarray = ends3d,
        ) -> None:
            bones.set_segments(pts[t][ends])  # (bones, 2 ends, 3)
            if track.error_mm is not None:
                text.set_text(f"MPJPE {track.error_mm[t]:.1f} mm")

        updaters.append(move_3d)
    _legend(fig)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.12, top=0.92, wspace=0.15)

    def update(t: int) -> None:
        for move in updaters:
            move(t)

    return fig, update, moving


def _blit_writer(suffix: str, fps: float) -> Any:
    """matplotlib's own Pillow / ffmpeg writer, taking each frame from the already-blitted canvas."""
    from matplotlib import animation
    from PIL import Image

    if suffix == ".mp4":

        class BlitFFMpegWriter(animation.FFMpegWriter):
            def grab_frame(self, **savefig_kwargs: Any) -> None:
                self._proc.stdin.write(self.fig.canvas.buffer_rgba())

        return BlitFFMpegWriter(fps=fps, bitrate=-1)

    class BlitPillowWriter(animation.PillowWriter):
        """Frames share one palette taken from the first (line art on white needs few colours), so
        Pillow maps each frame to it instead of computing an adaptive palette per frame."""

        def grab_frame(self, **savefig_kwargs: Any) -> None:
            size = self.fig.canvas.get_width_height()
            rgb = Image.frombuffer("RGBA", size, self.fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
            if not self._frames:
                self._palette = rgb.quantize(colors=_GIF_COLORS, method=Image.Quantize.MEDIANCUT)
            self._frames.append(rgb.quantize(palette=self._palette, dither=Image.Dither.NONE))

    return BlitPillowWriter(fps=fps)


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
    dpi: int = 60,
    panel_inches: float = 3.0,
    overwrite: bool = False,
) -> RenderReport:
    """Write an animation (``.gif``, or ``.mp4`` when an ffmpeg is found, else a ``.gif`` beside it)."""
    total = _check(inputs, tracks)
    out = Path(out)
    if out.suffix.lower() not in (".gif", ".mp4"):
        raise ConfigError(f"{out}: animations are written as .gif or .mp4")
    chosen = list(range(total)) if frames is None else [int(f) for f in frames]
    if not chosen or min(chosen) < 0 or max(chosen) >= total:
        raise ConfigError(f"frames must lie in 0..{total - 1}, got {len(chosen)} frames from {min(chosen, default=None)} to {max(chosen, default=None)}")
    use_agg()
    note = ""
    if out.suffix.lower() == ".mp4" and not find_ffmpeg():
        note = f"no ffmpeg found (install gastbench[video] for imageio-ffmpeg); wrote a GIF instead of {out.name}"
        out = out.with_suffix(".gif")
    writer = _blit_writer(out.suffix.lower(), fps)
    _check_out(out, overwrite)
    started = time.perf_counter()
    fig, update, moving = _build(inputs, tracks, dpi, panel_inches)
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
                for artist in moving:
                    if hasattr(artist, "do_3d_projection"):
                        artist.do_3d_projection()  # a 3D axes' own draw would do this; draw_artist does not
                    artist.axes.draw_artist(artist)
                writer.grab_frame()
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    name = "ffmpeg" if out.suffix.lower() == ".mp4" else "pillow"
    return RenderReport(out, len(chosen), time.perf_counter() - started, name, note)


def render_frame(
    inputs: Keypoints2D | None,
    tracks: Sequence[PoseTrack],
    out: str | Path,
    frame: int,
    *,
    dpi: int = 100,
    panel_inches: float = 3.0,
    overwrite: bool = False,
) -> RenderReport:
    """Write one frame as a still image (PNG, or any format matplotlib saves)."""
    total = _check(inputs, tracks)
    if not 0 <= frame < total:
        raise ConfigError(f"frame {frame} is outside 0..{total - 1}")
    out = Path(out)
    _check_out(out, overwrite)
    started = time.perf_counter()
    fig, update, _ = _build(inputs, tracks, dpi, panel_inches)
    try:
        update(frame)
        with replacing_path(out) as tmp:
            fig.savefig(tmp, dpi=dpi, format=out.suffix.lstrip(".") or None)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return RenderReport(out, 1, time.perf_counter() - started, "savefig")
