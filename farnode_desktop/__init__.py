"""FarNode Desktop: turn an NVIDIA GPU into a FarMesh (Petals) block server and get paid for it."""

__version__ = "0.1.0"
