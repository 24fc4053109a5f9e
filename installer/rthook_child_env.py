"""PyInstaller runtime hook: children (the system python3.11 that builds the node runtime, pip, the node
server) get the user's own library path, not the bundle's, so they never load the app's copies of libssl
or Qt. The frozen process itself resolved its libraries at start-up and is not affected."""

import os
import sys

if sys.platform.startswith("linux") and getattr(sys, "frozen", False):
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)
