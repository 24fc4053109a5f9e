#!/bin/sh
# /usr/bin/farnode: the frozen app lives in /opt/farnode (PyInstaller onedir finds its files next to itself).
exec /opt/farnode/farnode "$@"
