"""Datasets, distortion generators, HDF5 caches and LightningDataModules."""
