"""A row's scoring convention as badges: short labels whose explanation is one hover (and a legend) away.

A measured row's badges come from its record's :class:`~gastbench.results.ProtocolInfo` (what was
applied); a reported row's from its family's paper convention as the evaluation resolves it (how
the authors scored the numbers they printed).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..evaluation.protocol import ResolvedProtocol
from ..results import EvalResult, ProtocolInfo

__all__ = ["Badge", "RECENTER_MEANING", "Scoring", "scoring_badges", "kind_badges"]

#: What each centring mode moves before the error is measured (the values of ``recenter``).
RECENTER_MEANING = {
    "target": "the ground-truth root joint is at the origin; the prediction is scored as predicted",
    "prediction": "the prediction is re-centred on its own predicted root (every joint minus the root)",
    "zero-prediction-root": "the prediction's root joint is set to zero, its other joints are left as predicted",
}
_RECENTER_LABEL = {"target": "target root 0", "prediction": "re-centred", "zero-prediction-root": "pred. root zeroed"}


@dataclass(frozen=True)
class Badge:
    """``kind`` groups badges in the legend and picks their colour; ``explanation`` says what the badge
    means (the legend), ``detail`` what it says of this row (the hover text, when given)."""

    kind: str
    label: str
    explanation: str
    detail: str = ""

    @property
    def hover(self) -> str:
        return self.detail or self.explanation


@dataclass(frozen=True)
class Scoring:
    """The facts of a scoring convention every badge is drawn from (a record's or a family's)."""

    convention: str
    score_stride: int
    train_stride: int
    flip: bool
    recenter: str
    joints: int | None
    precision: str
    causal: bool = False
    average: str = "actions"

    @classmethod
    def of_record(cls, protocol: ProtocolInfo) -> Scoring:
        return cls(
            convention=protocol.convention, score_stride=protocol.score_stride, train_stride=protocol.train_stride,
            flip=protocol.flip, recenter=protocol.recenter, joints=len(protocol.joints) or None,
            precision=protocol.precision, causal=protocol.causal,
        )  # fmt: skip

    @classmethod
    def of_protocol(cls, protocol: ResolvedProtocol, causal: bool = False) -> Scoring:
        return cls(
            convention=protocol.convention, score_stride=protocol.score_stride, train_stride=protocol.train_stride,
            flip=protocol.flip, recenter=protocol.recenter, joints=protocol.joints.num_joints,
            precision=protocol.precision, causal=causal, average=protocol.average,
        )  # fmt: skip


def scoring_badges(s: Scoring) -> list[Badge]:
    """Badges for every setting of ``s``: scoring stride, model frame rate, flip, centring, joints, arithmetic."""
    badges = [
        Badge("convention", "standard" if s.convention == "standard" else "paper conv.",
              "gastbench's standard protocol (the leaderboard's)" if s.convention == "standard"
              else "the model's own paper convention (PaperConvention), reproduced to match a published row"),
        Badge("stride", "every frame" if s.score_stride == 1 else f"every {s.score_stride}th frame",
              "every test frame is scored" if s.score_stride == 1
              else f"only every {s.score_stride}th test frame is scored (a subsample of the test set)"),
    ]  # fmt: skip
    if s.train_stride != s.score_stride:
        badges.append(
            Badge("rate", f"model at 1/{s.train_stride} rate",
                  f"the model sees video at frame stride {s.train_stride} (its training rate) around each scored frame")
        )  # fmt: skip
    badges.append(
        Badge("flip", "flip" if s.flip else "no flip",
              "test-time flip: the prediction is averaged with the mirrored prediction of the mirrored input"
              if s.flip else "no test-time flip augmentation")
    )  # fmt: skip
    badges.append(
        Badge("centring", _RECENTER_LABEL.get(s.recenter, s.recenter), RECENTER_MEANING.get(s.recenter, s.recenter))
    )
    if s.joints is not None:
        badges.append(Badge("joints", f"{s.joints} joints", f"the error is averaged over {s.joints} joints"))
    badges.append(Badge("precision", s.precision, f"per-frame errors computed in {s.precision} arithmetic"))
    if s.average != "actions":
        badges.append(Badge("average", "Avg over frames", "the headline averages every frame, not the actions"))
    if s.causal:
        badges.append(Badge("causal", "causal", "the model predicts the last frame of each window (no future frames)"))
    return badges


def kind_badges(record: EvalResult, has_measured_twin: bool) -> list[Badge]:
    """Measured or reported (reported only: nobody reproduced it here), the 2D source, and why a row is partial."""
    if record.reported:
        if has_measured_twin:
            return [
                Badge(
                    "reported", "reported", "the number a paper reports (a zoo card's [reported] table)", record.paper
                )
            ]
        return [
            Badge(
                "reported-only",
                "reported only",
                "the number a paper reports; gastbench has not reproduced it",
                record.paper,
            )
        ]
    badges = [Badge("measured", "measured", "computed by gastbench from the weights named in the row")]
    if record.source_2d:
        sha = record.source_2d_sha256 or "unknown"
        badges.append(
            Badge("source", f"2D: {record.source_2d}", "the 2D keypoint file the evaluation read (hover: its sha256)",
                  f"2D keypoints read from {record.source_2d}, sha256 {sha}")
        )  # fmt: skip
    reasons = record.partial_reasons()
    if reasons:
        badges.append(
            Badge("partial", "partial", "not a full result: untrained, --max-sequences, synthetic or incomplete data",
                  "not a full result: " + "; ".join(reasons))
        )  # fmt: skip
    return badges
