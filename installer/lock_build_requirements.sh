#!/bin/sh
# Regenerates installer/build-requirements.txt (pinned, hashed, for Linux and Windows) from build-requirements.in.
# Transitive versions are held to the ones in the development venv (.venv), which the test suite runs against.
set -eu
cd "$(dirname "$0")/.."
mkdir -p build/tools
[ -x build/tools/bin/uv ] || { python3 -m venv build/tools && build/tools/bin/pip install -q uv; }
.venv/bin/pip freeze --exclude-editable | grep -v '^#' > build/tools/venv-constraints.txt
cd installer
../build/tools/bin/uv pip compile --universal --python-version 3.11 --generate-hashes --no-header \
    -c ../build/tools/venv-constraints.txt -o build-requirements.txt build-requirements.in
# The constraints file is a build-time helper, not a reason a package is in the lock: drop it from the notes.
sed -i -e '/^    #   -c \.\.\/build\/tools\/venv-constraints\.txt$/d' \
       -e 's|^    # via -c \.\./build/tools/venv-constraints\.txt$|    # via (held to the tested version)|' build-requirements.txt
