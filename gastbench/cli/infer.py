"""``gastbench infer``: lift your own 2D keypoints with a lifter, over :mod:`gastbench.infer` and :mod:`gastbench.people`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from .options import DEVICE, MODEL, OFFLINE, OVERWRITE, RANDOM_INIT, SEED, THREADS, TRAIN_STRIDE, WEIGHTS

#: The layout a model is built for when lifting a keypoint file, by the dataset its weights came from.
_MODEL_LAYOUT = {"h36m": "h36m", "synthetic": "h36m", "humaneva": "humaneva"}


def _summary(lifted: Any, causal: bool, outputs: list[Path]) -> dict[str, Any]:
    import numpy as np

    frames = lifted.lifted_frames
    summary: dict[str, Any] = {
        "frames": lifted.frames,
        "people": lifted.people.linking,
        "tracks": [
            {
                "track_id": t.inputs.track_id,
                "first_frame": t.inputs.first_frame,
                "frames": int(t.poses.shape[0]),
                "filled_joints": int(t.inputs.filled.sum()),
            }
            for t in lifted.tracks
        ],  # fmt: skip
        "left_out": lifted.left_out,
        "seconds": round(lifted.seconds, 4),
        "frames_per_s": round(frames / max(lifted.seconds, 1e-9), 1),
        "outputs": [str(p) for p in outputs],
    }
    if causal:
        latency = np.concatenate([t.latency_ms for t in lifted.tracks])
        summary["latency_ms"] = {"median": round(float(np.median(latency)), 3), "p95": round(float(np.percentile(latency, 95)), 3),
                                 "max": round(float(latency.max()), 3)}  # fmt: skip
    return summary


def _animate(lifted: Any, label: str, out: Path, video: Any, fps: float | None, overwrite: bool) -> dict[str, Any]:
    from ..viz.animate import render_animation, render_frame
    from ..viz.lifted import people_panels

    frames = None
    if video is not None:
        from ..viz.video import VideoFrames

        frames = VideoFrames(video)
    panel, tracks = people_panels(lifted, label, frames)
    if out.suffix.lower() in (".gif", ".mp4"):
        rate = fps or (video.fps if video is not None else 25.0)
        report = render_animation(panel, tracks, out, fps=rate, overwrite=overwrite)
    else:
        report = render_frame(panel, tracks, out, 0, overwrite=overwrite)
    return {"path": str(report.path), "frames": report.frames, "seconds": round(report.seconds, 2), "writer": report.writer,
            "note": report.note}  # fmt: skip


def _say(summary: dict[str, Any], causal: bool) -> str:
    tracks = ", ".join(f"{t['track_id']} ({t['frames']} frames)" for t in summary["tracks"])
    text = (
        f"lifted {len(summary['tracks'])} person(s) [{tracks}] of a {summary['frames']}-frame clip in {summary['seconds']:.2f} s "
        f"({summary['frames_per_s']:.0f} frames/s); "
        f"{sum(t['filled_joints'] for t in summary['tracks'])} joint positions filled; wrote {' and '.join(summary['outputs'])}"
    )
    if causal:
        lat = summary["latency_ms"]
        text += f"\nlive (causal, frame by frame): {summary['frames_per_s']:.0f} frames/s, latency per frame {lat['median']:.1f} ms median, {lat['p95']:.1f} ms p95"
    if summary["left_out"]:
        text += "\nleft out: " + "; ".join(summary["left_out"])
    if "animation" in summary:
        anim = summary["animation"]
        text += f"\nwrote {anim['path']} ({anim['frames']} frames, {anim['seconds']:.1f} s, {anim['writer']})"
        text += f"\nnote: {anim['note']}" if anim["note"] else ""
    return text


def register(app: typer.Typer) -> None:
    """Add ``infer`` to the app."""

    @app.command("infer")
    def infer_command(
        model: str = MODEL,
        keypoints: Path = typer.Option(
            ...,
            "--keypoints",
            help="2D keypoints: GAST-Net demo, MMPose, AlphaPose, COCO-results/Detectron2 JSON; an OpenPose "
            "--write_json folder; VideoPose3D's data_2d_custom_*.npz; or arrays (.npz/.npy/.json, (T, J, 2|3)).",
        ),
        out: Path | None = typer.Option(
            None, "--out", help="Output base name: writes OUT.npz and OUT.json (default: <keypoints>_3d)."
        ),
        layout: str | None = typer.Option(
            None,
            "--layout",
            help="Joint order of an arrays file: coco (default), halpe26, mpii, openpose_body25, openpose_coco18, h36m, h36m16, humaneva.",
        ),
        width: int | None = typer.Option(
            None, "--width", help="Image width in pixels (if neither the file nor --video gives it)."
        ),
        height: int | None = typer.Option(
            None, "--height", help="Image height in pixels (if neither the file nor --video gives it)."
        ),
        sequence: str | None = typer.Option(
            None, "--sequence", help="Which video of a VideoPose3D custom file holding several."
        ),
        video: Path | None = typer.Option(
            None,
            "--video",
            help="The clip the keypoints came from: its size and length are checked, and --animate draws over its frames (needs gastbench[video]).",
        ),
        person: str = typer.Option(
            "all",
            "--person",
            help="Which person: 'all' or a track id (0, 1, ...; the file's own ids when it has them).",
        ),
        min_track_frames: int = typer.Option(
            2, "--min-track-frames", min=1, help="Tracks shorter than this are left out of --person all (and listed)."
        ),
        max_gap: int = typer.Option(
            10,
            "--max-gap",
            min=0,
            help="Linking people without track ids: frames a person may be missed in a row and keep their track.",
        ),
        min_similarity: float = typer.Option(
            0.3,
            "--min-similarity",
            help="Linking people without track ids: least (box IoU + keypoint similarity) / 2 between frames.",
        ),
        dataset: str = typer.Option(
            "h36m",
            "--dataset",
            help="Dataset the weights were trained on: h36m, humaneva or synthetic (picks the model layout and the zoo card).",
        ),
        input: str = typer.Option(
            "gt", "--input", help="2D input the weights were trained on: gt, cpn, sh, ... (picks the zoo card)."
        ),
        weights: Path | None = WEIGHTS,
        random_init: bool = RANDOM_INIT,
        seed: int = SEED,
        offline: bool = OFFLINE,
        min_score: float = typer.Option(0.3, "--min-score", help="Joints scored below this are filled along time."),
        train_stride: int | None = TRAIN_STRIDE,
        flip: bool = typer.Option(True, "--flip/--no-flip", help="Test-time flip averaging."),
        causal: bool = typer.Option(
            False,
            "--causal",
            help="Lift frame by frame as live (a causal model such as gast-t27-causal, or a frame model); "
            "reports frames/s and latency. Runs on 1 CPU thread unless --threads says otherwise (one small window per frame).",
        ),
        device: str = DEVICE,
        threads: int | None = THREADS,
        animate: Path | None = typer.Option(
            None, "--animate", help="Also write an animation (.gif/.mp4) or a frame (.png)."
        ),
        fps: float | None = typer.Option(None, "--fps", help="Animation frame rate (default: the video's, else 25)."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
        overwrite: bool = OVERWRITE,
    ) -> None:
        """Lift your own 2D keypoints to 3D (metres, camera frame, root-relative), every person: .npz and .json."""
        from ..errors import ConfigError
        from ..evaluation import resolve_device
        from ..infer import output_paths
        from ..keypoints import LinkRule, read_people
        from ..outputs import check_distinct, check_output_file
        from ..people import lift_people, match_video, parse_person, save_people
        from ..pretrained import resolve_lifter
        from ..process_state import process_state_restored

        if dataset not in _MODEL_LAYOUT:
            raise ConfigError(f"unknown --dataset {dataset!r}; use {', '.join(_MODEL_LAYOUT)}")
        chosen = parse_person(person)
        npz_out, json_out = output_paths(out or keypoints.with_name(keypoints.stem + "_3d"))
        read: list[Path | str] = [
            keypoints,
            *([weights] if weights is not None else []),
            *([video] if video is not None else []),
        ]

        def check_outputs(inputs: list[Path | str]) -> None:
            for path, option in ((npz_out, "--out"), (json_out, "--out"), (animate, "--animate")):
                if path is not None:
                    check_output_file(path, option, overwrite=overwrite, inputs=inputs)
            check_distinct([("--out (.npz)", npz_out), ("--out (.json)", json_out), ("--animate", animate)])

        check_outputs(read)
        info = None
        if video is not None:
            from ..viz.video import probe_video

            info = probe_video(video)
        link = LinkRule(max_gap=max_gap, min_similarity=min_similarity, min_score=min_score)
        people = read_people(keypoints, layout=layout, width=width, height=height, sequence=sequence, link=link,
                             fallback_size=(info.width, info.height) if info else None)  # fmt: skip
        if info is not None:
            people = match_video(people, info.path, info.frames, (info.width, info.height))
        lifter, weights_info = resolve_lifter(
            model,
            dataset=dataset,
            input=input,
            layout=_MODEL_LAYOUT[dataset],
            weights=weights,
            random_init=random_init,
            seed=seed,
            offline=offline,
        )
        if causal:
            from ..streaming import streaming_problem

            problem = streaming_problem(lifter)
            if problem is not None:
                raise ConfigError(f"--causal: {problem}")
        check_outputs([*read, *weights_info.read_files])
        dev = resolve_device(device)
        threads = threads or (1 if causal and dev.type == "cpu" else None)
        with process_state_restored(threads=threads):
            lifted = lift_people(
                lifter.to(dev), people, person=chosen, min_frames=min_track_frames, weights=weights_info.to_dict(),
                train_stride=train_stride or weights_info.train_stride or 1, min_score=min_score, flip=flip, device=str(dev),
                causal=causal,
            )  # fmt: skip
        npz_path, json_path = save_people(lifted, npz_out, overwrite=overwrite)
        summary = _summary(lifted, causal, [npz_path, json_path])
        summary["threads"] = threads
        if animate is not None:
            summary["animation"] = _animate(
                lifted, f"{model} (untrained)" if random_init else model, animate, info, fps, overwrite
            )
        typer.echo(json.dumps(summary) if as_json else _say(summary, causal))
