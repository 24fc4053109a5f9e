#!/bin/sh
# Regenerates the hashed locks (for Linux and Windows) from their .in files:
#   installer/build-requirements.txt  what the frozen app is built from
#   installer/dev-requirements.txt    the development and CI venv (make python-env): the build lock plus test tools
# Versions already locked stay where they are unless you pass --upgrade (or --upgrade-package NAME): the locks
# change on purpose, not whenever an upstream release lands. The dev lock is held to the build lock's versions,
# so the tests run against exactly what ships.
set -eu
cd "$(dirname "$0")/.."
mkdir -p build/tools
[ -x build/tools/bin/uv ] || { python3 -m venv build/tools && build/tools/bin/pip install -q uv==0.13.9; }
uv="../build/tools/bin/uv"
export PIP_CONFIG_FILE=/dev/null  # resolve against the public registry only, as a provider's PC would
pins() { grep -E '^[A-Za-z0-9].*==' "$1" | sed 's/ *\\$//'; }
cd installer
[ -f build-requirements.txt ] && pins build-requirements.txt > ../build/tools/held.txt || : > ../build/tools/held.txt
$uv pip compile --universal --python-version 3.11 --generate-hashes --no-header "$@" \
    -c ../build/tools/held.txt -o build-requirements.txt build-requirements.in
pins build-requirements.txt > ../build/tools/build-pins.txt
$uv pip compile --universal --python-version 3.11 --generate-hashes --no-header "$@" \
    -c ../build/tools/build-pins.txt -o dev-requirements.txt dev-requirements.in
# The constraints files are build-time helpers, not reasons a package is in a lock: drop them from the notes.
sed -i -e '/^    #   -c \.\.\/build\/tools\/[a-z-]*\.txt$/d' \
       -e 's|^    # via -c \.\./build/tools/[a-z-]*\.txt$|    # via (held to the locked version)|' \
       build-requirements.txt dev-requirements.txt
