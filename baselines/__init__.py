"""Baseline lifters, registered through the ``gastbench.lifters`` entry point.

Importing this package registers VideoPose3D, Martinez and SemGCN with
:mod:`gastbench.registry`; it never imports :mod:`gastbench.models`.
"""

from . import martinez, semgcn, videopose3d

__all__ = ["martinez", "semgcn", "videopose3d"]
