#!/bin/sh
# Builds the Windows installer with makensis (NSIS 3). The Windows app itself is frozen on Windows
# (installer/build_windows.ps1); given no frozen folder, this stages a placeholder one so that CI on Linux
# proves the script compiles and packs a tree of the real layout.
# Usage: installer/build_nsis.sh [STAGE_DIR] [OUTPUT.exe]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$root/farnode_desktop/__init__.py")
stage=${1:-}
output=${2:-$root/build/nsis/FarNode-$version-Setup.exe}
command -v makensis >/dev/null || { echo "makensis is missing (apt-get install nsis)" >&2; exit 1; }
if [ -z "$stage" ]; then
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' EXIT
    mkdir -p "$stage/_internal/resources/runtime" "$stage/_internal/mesh_src/farnode_desktop/mesh"
    printf 'placeholder: the frozen app is built on Windows\r\n' > "$stage/FarNode.exe"
    printf 'placeholder: the frozen app is built on Windows\r\n' > "$stage/farnode-cli.exe"
    cp "$root"/resources/runtime/*.txt "$stage/_internal/resources/runtime/"
    cp "$root"/farnode_desktop/mesh/*.py "$stage/_internal/mesh_src/farnode_desktop/mesh/"
fi
stage=$(cd "$stage" && pwd)  # makensis runs from the script's folder: paths must be absolute
mkdir -p "$(dirname "$output")"
output=$(cd "$(dirname "$output")" && pwd)/$(basename "$output")
makensis -V2 -WX "-DSTAGE_DIR=$stage" "-DVERSION=$version" "-DOUTFILE=$output" "$here/nsis/farnode.nsi"
echo "$output"
