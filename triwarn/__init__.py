"""triwarn: trilateral (US, Japan, ROK) real-time missile-warning data sharing, a working prototype.

One import namespace over the folders of the repository (see setup.py):

- ``triwarn.core``      <- core/      physics and estimation kernels (numba), no I/O
- ``triwarn.sensors``   <- sensors/   simulated sensors that turn truth into measurements
- ``triwarn.services``  <- services/  processes: national nodes, fusion, gRPC, CLI
- ``triwarn.scenarios`` <- scenarios/ the scenario catalog (data files)
- ``triwarn.v1``        <- triwarn/v1/ code generated from proto/triwarn/v1/*.proto
"""

__version__ = "0.1.0"
