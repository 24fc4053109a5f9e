"""Code that runs inside the FarMesh node runtime's interpreter (torch, hivemind, petals); never imports core or Qt.

Importing this package does nothing heavy: each module imports the runtime's libraries itself, so the app
can ship these sources and the runtime can run them with `python -m farnode_desktop.mesh.<module>`.
"""
