"""Pictures of poses and results: skeleton animations, result plots, GAST-Net attention maps.

Everything renders headless (matplotlib's Agg backend); nothing here is imported by the
library's numeric code, and matplotlib is imported only when a picture is made.
"""
