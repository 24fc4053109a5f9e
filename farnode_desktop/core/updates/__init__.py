"""Signed updates (The Update Framework): the installation's trust anchor, the client that refreshes the update
repository's metadata and installs verified targets (the network manifest, the model catalog), and its schedule."""
