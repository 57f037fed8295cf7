"""Baseline lifters, registered through the ``gastbench.lifters`` entry point.

Importing this package registers VideoPose3D, Martinez and SemGCN with
:mod:`gastbench.registry`; it never imports :mod:`gastbench.models`.
"""

from . import martinez, poseformer, semgcn, videopose3d  # poseformer imports timm only when built

__all__ = ["martinez", "poseformer", "semgcn", "videopose3d"]
