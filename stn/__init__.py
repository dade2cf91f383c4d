"""Spatial Transformer Networks (Jaderberg et al., NeurIPS 2015): library and reproduction suite."""

__version__ = "0.1.0"
