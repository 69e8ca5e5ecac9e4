"""Scoring and sampling on engines people already run (Dask, Spark), one partition at a time,
with the torch-free ONNX runtime: ``gantk.scale.partitions`` is what every worker calls;
``gantk.scale.dask`` and ``gantk.scale.spark`` wire it into each engine."""
