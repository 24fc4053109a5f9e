#!/bin/sh
# Builds farnode_VERSION_amd64.deb from a frozen bundle folder (the PyInstaller onedir `farnode/`).
# Usage: installer/deb/build_deb.sh BUNDLE_DIR VERSION OUTPUT.deb
# Layout: /opt/farnode (the bundle), /usr/bin/farnode, the desktop entry, hicolor icons, and an autostart
# entry in /usr/share/farnode/autostart/ that the app's "start at login" (or the user) copies to
# ~/.config/autostart/: autostart is per user and off until asked for.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 BUNDLE_DIR VERSION OUTPUT.deb" >&2; exit 2; }
bundle=$1; version=$2; output=$3
here=$(cd "$(dirname "$0")" && pwd)
icons=$(cd "$here/../../resources/icons" && pwd)
[ -x "$bundle/farnode" ] || { echo "$bundle/farnode is not an executable bundle" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/farnode
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
         "$root/usr/share/farnode/autostart" "$root/usr/share/doc/farnode" \
         "$root/usr/share/icons/hicolor/scalable/apps"
cp -a "$bundle" "$root/opt/farnode"
install -m 0755 "$here/farnode.sh" "$root/usr/bin/farnode"
install -m 0644 "$here/farnode.desktop" "$root/usr/share/applications/farnode.desktop"
install -m 0644 "$here/farnode-autostart.desktop" "$root/usr/share/farnode/autostart/farnode.desktop"
install -m 0644 "$here/copyright" "$root/usr/share/doc/farnode/copyright"
install -m 0644 "$icons/farnode.svg" "$root/usr/share/icons/hicolor/scalable/apps/farnode.svg"
for size in 16 32 48 64 128 256; do
    mkdir -p "$root/usr/share/icons/hicolor/${size}x${size}/apps"
    install -m 0644 "$icons/farnode-$size.png" "$root/usr/share/icons/hicolor/${size}x${size}/apps/farnode.png"
done
# Files readable by all, directories and executables traversable: the bundle must not carry the builder's umask.
find "$root" -type d -exec chmod 0755 {} +
find "$root/opt" -type f ! -perm -u+x -exec chmod 0644 {} +
find "$root/opt" -type f -perm -u+x -exec chmod 0755 {} +

size_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@INSTALLED_SIZE@/$size_kb/" "$here/control.in" > "$root/DEBIAN/control"
# Same input, same package: timestamps come from SOURCE_DATE_EPOCH when set.
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
fi
mkdir -p "$(dirname "$output")"
dpkg-deb --root-owner-group -Zzstd --build "$root" "$output" >/dev/null
echo "$output"
