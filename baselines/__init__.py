"""Baseline lifters, registered through the ``gastbench.lifters`` entry point.

Importing this package registers VideoPose3D, Martinez, SemGCN and the transformer families
(PoseFormer, MixSTE, MotionBERT) with :mod:`gastbench.registry`; it never imports :mod:`gastbench.models`.
"""

from . import martinez, mixste, motionbert, poseformer, semgcn, videopose3d  # transformers import timm only when built

__all__ = ["martinez", "mixste", "motionbert", "poseformer", "semgcn", "videopose3d"]
