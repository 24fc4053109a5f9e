#!/bin/sh
# Builds FarNode Desktop for Linux: freeze (PyInstaller) -> self-test the frozen binary headless with a real
# Secret Service -> farnode-VERSION-linux-x86_64.tar.gz -> farnode_VERSION_amd64.deb. Any failure stops it.
#
# Usage: installer/build_linux.sh [--out DIR] [--python PYTHON]
#   --out DIR        where everything goes (default build/linux; build/ is git-ignored)
#   --python PYTHON  freeze with this interpreter's packages instead of a fresh venv made from the pinned,
#                    hash-checked installer/build-requirements.txt (the tests pass .venv/bin/python, whose
#                    versions tests/installer/test_build_lock.py holds equal to the lock)
# Needs: python3.11 (+ venv), gcc (ICU slimming), dbus, gnome-keyring, dpkg-dev (dpkg-deb), zstd support.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=$root/build/linux
python=""
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=$2; shift 2 ;;
        --python) python=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$root/farnode_desktop/__init__.py")
: "${SOURCE_DATE_EPOCH:=$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH
cd "$root"

if [ -z "$python" ]; then
    echo "== build venv from the hashed lock"
    [ -x "$out/venv/bin/python" ] || python3.11 -m venv "$out/venv"
    "$out/venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
        -r installer/build-requirements.txt
    "$out/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation .
    python=$out/venv/bin/python
fi

echo "== freeze"
start=$(date +%s)
"$python" -m PyInstaller --noconfirm --log-level WARN --distpath "$out/dist" --workpath "$out/work" \
    installer/farnode.spec
freeze_s=$(( $(date +%s) - start ))
bundle=$out/dist/farnode

echo "== self-test of the frozen binary (offscreen, real Secret Service in a private D-Bus session)"
selftest_home=$(mktemp -d)
if ! HOME=$selftest_home QT_QPA_PLATFORM=offscreen FARNODE_BIN="$bundle/farnode" FARNODE_REPORT="$out/selftest.json" \
    dbus-run-session -- sh -c 'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
        "$FARNODE_BIN" --self-test --report "$FARNODE_REPORT" >/dev/null'; then
    rm -rf "$selftest_home"
    echo "the frozen app's self-test FAILED: no packages were made (report: $out/selftest.json)" >&2
    exit 1
fi
rm -rf "$selftest_home"

echo "== tar.gz"
tarball=$out/farnode-$version-linux-x86_64.tar.gz
tmp=$(mktemp -d)
cp -a "$bundle" "$tmp/farnode-$version"
install -m 0644 installer/deb/farnode.desktop installer/deb/farnode-autostart.desktop resources/icons/farnode.svg \
    "$tmp/farnode-$version/"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" -C "$tmp" \
    -cf - "farnode-$version" | gzip -n -9 > "$tarball"
rm -rf "$tmp"

echo "== .deb"
deb=$out/farnode_${version}_amd64.deb
installer/deb/build_deb.sh "$bundle" "$version" "$deb" >/dev/null

bundle_bytes=$(du -sb "$bundle" | cut -f1)
cat > "$out/sizes.json" <<JSON
{"version": "$version", "bundle_bytes": $bundle_bytes, "bundle_du": "$(du -sh "$bundle" | cut -f1)",
 "tar_gz_bytes": $(stat -c %s "$tarball"), "deb_bytes": $(stat -c %s "$deb"), "freeze_seconds": $freeze_s}
JSON
echo "bundle $(du -sh "$bundle" | cut -f1)  tar.gz $(du -h "$tarball" | cut -f1)  deb $(du -h "$deb" | cut -f1)"
echo "$tarball"
echo "$deb"
