"""Getting a zoo card's weights onto disk, verified; and publishing them.

Order: a local mirror folder ``$GASTBENCH_WEIGHTS_DIR`` (files named by the card's filename
or ``<repo_id>/<filename>``) bypasses the network; else the Hugging Face cache through
``hf_hub_download`` at the card's pinned commit. With a 40-hex revision and a warm cache,
``hf_hub_download`` returns the cached snapshot without any request. Every file is checked
against the card's size and sha256 before anyone loads it; nothing of the user's is deleted.

``huggingface_hub`` reads ``HF_HUB_OFFLINE`` and ``HF_HUB_CACHE`` once, at import, so both
are read here at call time and passed explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .cards import Card, dumps_card, write_card
from .checkpoint import file_sha256
from .errors import WeightsError, not_a_file

__all__ = [
    "mirror_candidates",
    "WEIGHTS_DIR_ENV",
    "fetch_weights",
    "verify_weights",
    "hub_cache_dir",
    "env_offline",
    "PublishPlan",
    "plan_publish",
    "publish",
    "model_card_readme",
]

WEIGHTS_DIR_ENV = "GASTBENCH_WEIGHTS_DIR"
_TRUE = {"1", "true", "yes", "on"}


def env_offline() -> bool:
    """``HF_HUB_OFFLINE`` as set now (not as it was when huggingface_hub was imported)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def hub_cache_dir() -> Path | None:
    """The Hub cache folder from the environment now: ``HF_HUB_CACHE``, else ``$HF_HOME/hub``."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return None  # huggingface_hub's own default


def verify_weights(card: Card, path: str | Path) -> Path:
    """Check ``path`` against the card's size and sha256; :class:`WeightsError` if it differs."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights for {card.id!r}: {path} {not_a_file(path)}")
    size = path.stat().st_size
    if size != card.size:
        kind = "truncated (incomplete download?)" if size < card.size else "larger than expected"
        raise WeightsError(
            f"weights for {card.id!r} at {path} are {kind}: {size} bytes, the card says {card.size}; "
            f"nothing was deleted: {_remedy(card)}"
        )
    sha = file_sha256(path)
    if sha != card.sha256:
        raise WeightsError(
            f"weights for {card.id!r} at {path} fail verification: sha256 {sha}, the card pins {card.sha256}; "
            f"nothing was deleted: {_remedy(card)}"
        )
    return path


def _remedy(card: Card) -> str:
    """What to do about a weights file that fails its card: only a published card can be downloaded again."""
    if card.status == "published":
        return (
            f"remove that file and run `gastbench download {card.id}` again, or report the card if the Hub file changed"
        )
    return (
        f"card {card.id!r} is {card.status} (not on the Hub, so `gastbench download` cannot fetch it): put the file "
        f"the card was written for in ${WEIGHTS_DIR_ENV} (or pass `--weights FILE`), or re-train / re-convert it "
        "and write the card again"
    )


def mirror_candidates(card: Card) -> list[Path]:
    """Where ``$GASTBENCH_WEIGHTS_DIR`` may hold ``card``'s file: by file name, or under its repo id."""
    folder = os.environ.get(WEIGHTS_DIR_ENV, "").strip()
    if not folder:
        return []
    return [Path(folder) / card.filename, Path(folder) / card.repo_id / card.filename]


def _mirror_file(card: Card) -> Path | None:
    return next((c for c in mirror_candidates(card) if c.is_file()), None)


def fetch_weights(card: Card, offline: bool = False, cache_dir: str | Path | None = None) -> Path:
    """The verified local path of ``card``'s weights, downloading them unless ``offline``."""
    if not card.has_weights:
        raise WeightsError(card.unavailable_message())
    mirrored = _mirror_file(card)
    if mirrored is not None:
        return verify_weights(card, mirrored)
    if card.status != "published":
        raise WeightsError(
            f"zoo card {card.id!r} has weights (sha256 {card.sha256[:12]}...) that are not on the Hub yet; "
            f"put {card.filename} in ${WEIGHTS_DIR_ENV}, pass `--weights FILE`, "
            f"or publish them with `gastbench zoo publish {card.id}`"
        )
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    local_only = offline or env_offline()
    cache = Path(cache_dir) if cache_dir is not None else hub_cache_dir()
    try:
        path = hf_hub_download(
            repo_id=card.repo_id,
            filename=card.filename,
            revision=card.revision,
            cache_dir=str(cache) if cache is not None else None,
            local_files_only=local_only,
        )
    except LocalEntryNotFoundError:
        if local_only:
            raise WeightsError(
                f"weights for {card.id!r} are not in the local Hub cache ({cache or 'default cache'}) and "
                f"downloads are off (offline); prefetch them while online with `gastbench download {card.id}`, "
                f"or put {card.filename} in ${WEIGHTS_DIR_ENV}"
            ) from None
        raise WeightsError(
            f"could not reach the Hub to download {card.repo_id}/{card.filename} for {card.id!r}, and it is "
            f"not cached; check the network (or proxy), then run `gastbench download {card.id}`"
        ) from None
    except RevisionNotFoundError:
        raise WeightsError(f"Hub repo {card.repo_id} has no revision {card.revision} (card {card.id!r})") from None
    except EntryNotFoundError:
        raise WeightsError(
            f"Hub repo {card.repo_id}@{card.revision[:12]} has no file {card.filename} (card {card.id!r})"
        ) from None
    except RepositoryNotFoundError:
        raise WeightsError(f"Hub repo {card.repo_id} not found or not accessible (card {card.id!r})") from None
    except (HfHubHTTPError, OSError) as exc:
        raise WeightsError(f"downloading weights for {card.id!r} from {card.repo_id} failed: {exc}") from None
    return verify_weights(card, path)


# --- publishing ---------------------------------------------------------------------------


@dataclass
class PublishPlan:
    """What ``gastbench zoo publish`` does, step by step (printed with ``--dry-run``)."""

    card: Card
    weights: Path
    steps: list[str] = field(default_factory=list)


def plan_publish(card: Card, weights: str | Path | None = None) -> PublishPlan:
    """Check that the weights match the card and list the Hub operations publishing takes."""
    if not card.has_weights:
        raise WeightsError(
            f"zoo card {card.id!r} is unpublished and has no weights to upload; write its card from trained "
            "weights first (the training command does this) or convert the authors' checkpoint"
        )
    path = Path(weights) if weights is not None else _mirror_file(card)
    if path is None:
        raise WeightsError(
            f"publishing {card.id!r} needs its weights file: pass --weights FILE or put {card.filename} in "
            f"${WEIGHTS_DIR_ENV}"
        )
    verify_weights(card, path)
    card_file = card.path.name if card.path is not None else f"{card.id}.toml"
    steps = [
        f"create model repo {card.repo_id} (exist_ok)",
        f"upload {path} -> {card.repo_id}/{card.filename} ({card.size} bytes, sha256 {card.sha256})",
        f"upload zoo card -> {card.repo_id}/{card_file}",
        f"upload model card -> {card.repo_id}/README.md",
        "as one commit; then pin its 40-hex id as the card's revision and set status = 'published'",
    ]
    return PublishPlan(card=card, weights=path, steps=steps)


def publish(plan: PublishPlan, token: str | None = None, private: bool = False) -> Card:
    """Run a :class:`PublishPlan` against the Hub; return the card pinned to the new commit."""
    from dataclasses import replace

    from huggingface_hub import CommitOperationAdd, HfApi

    card = plan.card
    api = HfApi(token=token)
    api.create_repo(repo_id=card.repo_id, repo_type="model", private=private, exist_ok=True)
    readme = model_card_readme(card)
    card_file = card.path.name if card.path is not None else f"{card.id}.toml"
    operations = [
        CommitOperationAdd(path_in_repo=card.filename, path_or_fileobj=str(plan.weights)),
        CommitOperationAdd(path_in_repo=card_file, path_or_fileobj=dumps_card(card).encode("utf-8")),
        CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=readme.encode("utf-8")),
    ]
    info = api.create_commit(
        repo_id=card.repo_id,
        repo_type="model",
        operations=operations,
        commit_message=f"gastbench: publish {card.id}",
    )
    pinned = replace(card, status="published", revision=info.oid)
    if card.path is not None:
        write_card(pinned, card.path)
    return pinned


def model_card_readme(card: Card) -> str:
    """A Hugging Face model card (README.md with YAML front matter) generated from the zoo card."""
    lines = [
        "---",
        f"license: {card.license.lower()}",
        "library_name: gastbench",
        "tags:",
        "- 3d-human-pose-estimation",
        "- pose-lifting",
        f"- {card.lifter}",
        "---",
        "",
        f"# {card.id}",
        "",
        card.description or f"{card.lifter} trained on {card.dataset} with {card.input} 2D keypoints.",
        "",
        "| field | value |",
        "| --- | --- |",
        f"| lifter | `{card.lifter}` |",
        f"| input layout | `{card.layout}` |",
        f"| dataset / 2D input | {card.dataset} / {card.input} |",
        f"| parameters | {card.params:,} |",
        f"| receptive field | {card.receptive_field} frames |",
        f"| weights | `{card.filename}` (sha256 `{card.sha256}`, {card.size} bytes) |",
        "",
        "## Use",
        "",
        "```python",
        "from gastbench.pretrained import resolve_lifter",
        f'model, weights = resolve_lifter("{card.lifter}", dataset="{card.dataset}", input="{card.input}", '
        f'layout="{card.layout}")',
        "```",
        "",
        f"Evaluate: `gastbench eval {card.lifter} --dataset {card.dataset} --input {card.input}`",
    ]
    if card.command:
        lines += ["", "## Training", "", f"`{card.command}`"]
        if card.recipe:
            lines += [""] + [f"- {k}: {v}" for k, v in card.recipe.items()]
    if card.reported is not None:
        r = card.reported
        lines += ["", "## Reported in the paper", "", f"Source: {r.source}", ""]
        if r.p1_avg is not None:
            lines.append(f"- Protocol #1 (MPJPE): {r.p1_avg} mm")
        if r.p2_avg is not None:
            lines.append(f"- Protocol #2 (P-MPJPE): {r.p2_avg} mm")
    return "\n".join(lines) + "\n"
