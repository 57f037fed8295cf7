"""The figure an animation moves: a 2D panel (the video's frames when given) beside 3D panels.

Sizes are chosen to be read: at least :data:`MIN_WIDTH_IN` inches wide (960 px at the default
100 dpi), panels as tall as :data:`PANEL_HEIGHT_IN`, the 2D panel as wide as its image's aspect
asks, every label inside the canvas (margins are measured from the drawn labels, then set).
Each 3D panel's axes are fitted to its own poses (the central 99% of the joint positions,
10% margin) with one range on all three axes, so a metre is as long in every direction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..skeleton import Skeleton
from .style import LEFT, RIGHT, bone_colors, camera_to_plot, use_agg

if TYPE_CHECKING:
    from .video import VideoFrames

__all__ = ["DEFAULT_DPI", "Figure", "Keypoints2D", "PoseTrack", "build_figure", "fitted_box", "labels_outside"]

DEFAULT_DPI = 100
MIN_WIDTH_IN = 9.6
PANEL_HEIGHT_IN = 3.6
_LABEL = 9
_TICK = 8


@dataclass(frozen=True)
class PoseTrack:
    """One 3D panel: camera-frame, root-relative poses in metres (a frame all NaN: the person is absent)."""

    title: str
    poses: np.ndarray  # (T, J, 3)
    layout: Skeleton
    error_mm: np.ndarray | None = None  # (T,)


@dataclass(frozen=True)
class Keypoints2D:
    """The 2D panel: pixels when ``image_size`` is known, else screen-normalised coordinates.

    ``keypoints`` is one person ``(T, J, 2)`` or several ``(P, T, J, 2)`` (NaN where absent), each
    labelled by ``labels`` (track ids); ``video`` draws the clip's own frames under them.
    """

    keypoints: np.ndarray
    layout: Skeleton
    image_size: tuple[int, int] | None = None
    title: str = "2D input"
    labels: tuple[str, ...] | None = None
    video: VideoFrames | None = None

    @property
    def people(self) -> np.ndarray:
        """``(P, T, J, 2)`` float64."""
        kp = np.asarray(self.keypoints, dtype=np.float64)
        return kp[None] if kp.ndim == 3 else kp


def fitted_box(poses: np.ndarray) -> tuple[np.ndarray, float]:
    """``(centre (3,), half side)`` of an equal-sided box around plot-axes poses ``(T, J, 3)`` (module doc)."""
    pts = np.asarray(poses, dtype=np.float64).reshape(-1, 3)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if not len(pts):
        return np.zeros(3), 1.0
    lo, hi = np.percentile(pts, 0.5, axis=0), np.percentile(pts, 99.5, axis=0)
    return (lo + hi) / 2, float(max(np.max(hi - lo) / 2 * 1.1, 0.05))


def _figure_size(inputs: Keypoints2D | None, tracks: Sequence[PoseTrack]) -> tuple[list[float], float, float]:
    ratios = [1.0] * len(tracks)
    if inputs is not None:
        w, h = inputs.image_size or (1, 1)
        ratios.insert(0, max(0.5, min(2.5, w / h)))
    height = PANEL_HEIGHT_IN
    width = height * sum(ratios) * 1.12
    if width < MIN_WIDTH_IN:
        height, width = height * MIN_WIDTH_IN / width, MIN_WIDTH_IN
    return ratios, width, height + 0.9


def _even_inches(inches: float, dpi: int) -> float:
    """An inch size whose pixel count is even (H.264 in MP4 needs even sides)."""
    return 2 * round(inches * dpi / 2) / dpi


def _panel_2d(fig: Any, spec: Any, inputs: Keypoints2D, paste: bool) -> tuple[Callable[[int], None], list[Any]]:
    from matplotlib.collections import LineCollection

    ax = fig.add_subplot(spec)
    people = inputs.people
    ends = np.array(inputs.layout.edges)
    moving: list[Any] = []
    image = None
    if inputs.image_size is not None:
        w, h = inputs.image_size
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)  # image rows grow downwards
        ax.set_xlabel("x (px)", fontsize=_LABEL)
        ax.set_ylabel("y (px)", fontsize=_LABEL)
        if inputs.video is not None and paste:
            ax.set_facecolor("black")  # the frames are pasted into the canvas under the skeleton (build_figure)
        elif inputs.video is not None:
            image = ax.imshow(inputs.video.get(0), extent=(0, w, h, 0), interpolation="bilinear", zorder=0)
            moving.append(image)
    else:
        lo, hi = np.nanmin(people, axis=(0, 1, 2)), np.nanmax(people, axis=(0, 1, 2))
        pad = 0.1 * float(np.max(hi - lo))
        ax.set_xlim(lo[0] - pad, hi[0] + pad)
        ax.set_ylim(hi[1] + pad, lo[1] - pad)
        ax.set_xlabel("x (normalised)", fontsize=_LABEL)
        ax.set_ylabel("y (normalised, down)", fontsize=_LABEL)
    ax.set_aspect("equal", adjustable="box")
    ax.tick_params(labelsize=_TICK)
    ax.set_title(inputs.title, fontsize=_LABEL + 1)
    colors = bone_colors(inputs.layout) * len(people)
    bones = LineCollection([], colors=colors, linewidths=2.0, zorder=2)
    ax.add_collection(bones)
    moving.append(bones)
    labels = []
    for name in inputs.labels or ():
        text = ax.text(0, 0, name, fontsize=_LABEL, color="black", ha="center", va="bottom", zorder=3,
                       bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})  # fmt: skip
        labels.append(text)
        moving.append(text)
    top = inputs.layout.index("head") if "head" in inputs.layout.joint_names else 0

    def move(t: int) -> None:
        if image is not None:
            image.set_data(inputs.video.get(t))  # type: ignore[union-attr]
        bones.set_segments(list(people[:, t][:, ends].reshape(-1, 2, 2)))  # NaN bones (absent people) are not drawn
        for text, pose in zip(labels, people[:, t]):
            visible = bool(np.isfinite(pose[top]).all())
            text.set_visible(visible)
            if visible:
                text.set_position((pose[top, 0], pose[top, 1]))

    return move, moving


def _panel_3d(fig: Any, spec: Any, track: PoseTrack) -> tuple[Callable[[int], None], list[Any]]:
    from matplotlib.ticker import MaxNLocator
    from mpl_toolkits.mplot3d.art3d import Line3DCollection

    ax = fig.add_subplot(spec, projection="3d")
    ax.view_init(elev=15.0, azim=-70.0)
    pts = camera_to_plot(track.poses)
    centre, half = fitted_box(pts)
    for axis, c in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), centre):
        axis(c - half, c + half)
    ax.set_box_aspect((1, 1, 1), zoom=1.1)  # equal ranges on equal sides: equal aspect
    for name, setter, axis in (("x (m)", ax.set_xlabel, ax.xaxis), ("depth (m)", ax.set_ylabel, ax.yaxis),
                               ("up (m)", ax.set_zlabel, ax.zaxis)):  # fmt: skip
        setter(name, fontsize=_LABEL - 1, labelpad=2)
        axis.set_major_locator(MaxNLocator(nbins=3))
    ax.tick_params(labelsize=_TICK - 1, pad=0)
    ax.set_title(track.title, fontsize=_LABEL + 1)
    ends = np.array(track.layout.edges)
    first = next((t for t in range(len(pts)) if np.isfinite(pts[t]).all()), 0)
    bones = Line3DCollection(pts[first][ends], colors=bone_colors(track.layout), linewidths=2.0)
    ax.add_collection3d(bones, autolim=False)
    error_text = ax.text2D(0.5, 0.95, "", transform=ax.transAxes, ha="center", fontsize=_LABEL)
    moving = [bones] + ([error_text] if track.error_mm is not None else [])

    def move(t: int) -> None:
        bones.set_segments(pts[t][ends])  # (bones, 2 ends, 3); NaN when the person is absent
        if track.error_mm is not None:
            error_text.set_text(f"MPJPE {track.error_mm[t]:.1f} mm")

    return move, moving


def _spill(fig: Any) -> np.ndarray:
    """How far the drawn panels (with their ticks, labels, titles and legends) reach past each edge of the
    canvas: left, bottom, right, top, in pixels (negative: room to spare)."""
    fig.canvas.draw()
    renderer, box = fig.canvas.get_renderer(), fig.bbox
    spill = np.full(4, -np.inf)
    for ax in fig.axes:
        ext = ax.get_tightbbox(renderer)  # only what is drawn: ticks outside the view are not
        if ext is not None:
            spill = np.maximum(spill, [box.x0 - ext.x0, box.y0 - ext.y0, ext.x1 - box.x1, ext.y1 - box.y1])
    return spill


def labels_outside(fig: Any) -> bool:
    """True when a drawn label reaches outside the canvas (never, once :func:`build_figure` fitted the margins)."""
    return bool(np.any(_spill(fig) > 0.5))


def _fit_margins(fig: Any, grid: Any) -> None:
    """Move the panels in until every drawn label lies inside the canvas (a few passes: a 3D panel's
    labels move with its size)."""
    for _ in range(4):
        spill = _spill(fig)
        if np.all(spill <= 0):
            return
        pad, params, box = 4.0, grid.get_subplot_params(fig), fig.bbox
        shift = np.where(spill > 0, spill + pad, 0.0) / [box.width, box.height, box.width, box.height]
        grid.update(
            left=params.left + shift[0],
            bottom=params.bottom + shift[1],
            right=params.right - shift[2],
            top=params.top - shift[3],
        )


@dataclass
class Figure:
    """A built figure: ``update(t)`` moves the ``moving`` artists to frame ``t``; ``underlay(pixels, t)``, when
    set, paints frame ``t`` of the video into the canvas's RGBA pixels, before the moving artists are drawn."""

    fig: Any
    update: Callable[[int], None]
    moving: list[Any]
    underlay: Callable[[np.ndarray, int], None] | None = None


def _underlay(fig: Any, video: VideoFrames) -> Callable[[np.ndarray, int], None]:
    """Paste video frames, scaled by ffmpeg to the 2D panel's pixel box, straight into the canvas (an image
    artist would convert and resample every frame again: most of a frame's drawing time)."""
    box = fig.axes[0].get_window_extent()
    left, right = int(np.ceil(box.x0)) + 1, int(np.floor(box.x1))  # inside the panel's frame line
    top, bottom = int(np.ceil(fig.bbox.height - box.y1)) + 1, int(np.floor(fig.bbox.height - box.y0))
    video.resize((right - left, bottom - top))

    def paint(pixels: np.ndarray, t: int) -> None:
        pixels[top:bottom, left:right, :3] = video.get(t)
        pixels[top:bottom, left:right, 3] = 255

    return paint


def build_figure(
    inputs: Keypoints2D | None, tracks: Sequence[PoseTrack], dpi: int, *, paste_video: bool = False
) -> Figure:
    """The figure and how to move it; ``paste_video``: video frames come through :attr:`Figure.underlay`
    (for blitted animations) instead of an image artist (for a figure saved whole)."""
    use_agg()
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    ratios, width, height = _figure_size(inputs, tracks)
    fig = plt.figure(figsize=(_even_inches(width, dpi), _even_inches(height, dpi)), dpi=dpi)
    grid = fig.add_gridspec(
        1, len(ratios), width_ratios=ratios, left=0.06, right=0.97, bottom=0.12, top=0.92, wspace=0.15
    )
    updaters, moving = [], []
    col = 0
    if inputs is not None:
        move, artists = _panel_2d(fig, grid[0, 0], inputs, paste_video)
        updaters.append(move)
        moving += artists
        col = 1
    for k, track in enumerate(tracks):
        move, artists = _panel_3d(fig, grid[0, col + k], track)
        updaters.append(move)
        moving += artists
    handles = [Line2D([], [], color=LEFT, lw=2, label="left"), Line2D([], [], color=RIGHT, lw=2, label="right")]
    # in the top right corner, outside every panel (a pasted video frame would cover one inside the 2D panel)
    fig.legend(
        handles=handles, loc="upper right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=_LABEL - 1, frameon=False
    )
    _fit_margins(fig, grid)
    underlay = None
    if inputs is not None and inputs.video is not None:
        if paste_video:
            underlay = _underlay(fig, inputs.video)
        else:  # ffmpeg scales the frames to the panel's pixels
            panel = fig.axes[0].get_window_extent()
            inputs.video.resize((round(panel.width), round(panel.height)))

    def update(t: int) -> None:
        for move in updaters:
            move(t)

    return Figure(fig, update, moving, underlay)
