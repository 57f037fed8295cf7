"""Own video to 3D, end to end: a 1,000-frame clip of 3 people read, tracked, lifted and drawn to MP4.

The clip is made first (not timed): a 1280 x 720, 25 fps video (imageio-ffmpeg) whose background
moves, and GAST-Net's demo JSON of three synthetic walking people side by side (the synthetic
dataset's sequences, played forwards and backwards to 1,000 frames), with no track ids, so the
linking rule tells them apart, and a few frames where a person is missed. Then ``gastbench infer``
runs once, as a user would run it, in its own process (imports included):

    python benchmarks/own_video.py                      # semgcn with the zoo card's weights (GASTBENCH_WEIGHTS_DIR)
    python benchmarks/own_video.py --model gast-t27 --random-init

It prints the command's wall time (the target: under a minute), the lifting and drawing times the
command reports, the rest (start-up, reading, linking, writing), and the load average. Needs the
``video`` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gastbench.data import load_dataset
from gastbench.data.cameras import image_coordinates
from gastbench.keypoints import COCO_17_NAMES
from gastbench.skeleton import H36M_17

W, H, FPS = 1280, 720, 25


def people_coco(people: int, frames: int) -> np.ndarray:
    """``(people, frames, 17, 2)`` COCO-17 pixels: walking sequences side by side, face points around the head."""
    sequences = load_dataset("synthetic", "gt").sequences("test")
    out = np.zeros((people, frames, 17, 2))
    for p in range(people):
        kp = np.asarray(sequences[4 * p % len(sequences)].keypoints_2d, dtype=np.float64)
        order = np.concatenate([np.arange(len(kp)), np.arange(len(kp))[::-1]])  # forwards, then back: no jumps
        px = image_coordinates(kp[np.resize(order, frames)], 1000, 1002)
        px = (px - [500.0, 501.0]) * (0.7 * H / 1000) + [(p + 0.5) * W / people, H / 2]
        for j, name in enumerate(COCO_17_NAMES):
            if name in H36M_17.joint_names:
                out[p, :, j] = px[:, H36M_17.index(name)]
        face = (px[:, H36M_17.index("neck")] + px[:, H36M_17.index("head")]) / 2
        for name, dx in (("nose", 0), ("left_eye", 4), ("right_eye", -4), ("left_ear", 8), ("right_ear", -8)):
            out[p, :, COCO_17_NAMES.index(name)] = face + [dx, 0]
    return out


def write_clip(folder: Path, frames: int, people: int) -> tuple[Path, Path]:
    import imageio_ffmpeg

    video = folder / "clip.mp4"
    writer = imageio_ffmpeg.write_frames(str(video), (W, H), fps=FPS)
    writer.send(None)
    yy, xx = np.mgrid[0:H, 0:W]
    for t in range(frames):
        writer.send(np.stack([(xx * 0.15 + 2 * t) % 256, yy * 0.3, np.full_like(xx, 90)], axis=-1).astype(np.uint8))
    writer.close()
    coco = people_coco(people, frames)
    data = []
    for t in range(frames):
        skeletons = [
            {"pose": np.round(coco[p, t], 3).tolist(), "score": [[0.9]] * 17,
             "bbox": [*np.round(coco[p, t].min(axis=0), 3).tolist(), *np.round(coco[p, t].max(axis=0), 3).tolist()]}
            for p in range(people) if not (p == 1 and 400 <= t < 405)  # person 1 missed for 5 frames
        ]  # fmt: skip
        data.append({"frame_index": t + 1, "skeleton": skeletons})
    keypoints = folder / "clip.json"
    keypoints.write_text(json.dumps({"label": "benchmark", "label_index": 0, "data": data}))
    return video, keypoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="semgcn", help="lifter (default semgcn, the zoo card's weights)")
    parser.add_argument("--random-init", action="store_true", help="untrained weights (no weights file needed)")
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--people", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video, keypoints = write_clip(folder, args.frames, args.people)
        command = [sys.executable, "-c", "from gastbench.cli import main; main()", "infer", args.model, "--keypoints",
                   str(keypoints), "--video", str(video), "--animate", str(folder / "out.mp4"), "--out", str(folder / "out"),
                   "--json", "--offline", *(["--random-init"] if args.random_init else [])]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"gastbench infer failed ({done.returncode}):\n{done.stderr[-2000:]}")
        summary = json.loads(done.stdout)
    lift, draw = summary["seconds"], summary["animation"]["seconds"]
    print(json.dumps({
        "clip": {"frames": args.frames, "people": args.people, "video": f"{W}x{H}@{FPS}"},
        "model": args.model, "tracks": [(t["track_id"], t["frames"]) for t in summary["tracks"]],
        "wall_s": round(wall, 2), "lift_s": lift, "render_s": draw, "other_s": round(wall - lift - draw, 2),
        "under_a_minute": wall < 60.0, "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpu_threads": os.cpu_count(),
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
