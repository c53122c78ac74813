#!/usr/bin/env bash
# System libraries the test suite needs on a bare Debian/Ubuntu machine:
#  - Qt's offscreen platform still links EGL/GL, xkbcommon, fontconfig and D-Bus;
#  - fonts so rendered text is real text in screenshots;
#  - PostgreSQL server binaries for the relay's PostgreSQL store tests (skipped without them).
#  - desktop-file-validate and appstreamcli for the packaging tests (.desktop, AppStream).
# Installs only what is missing, so a prepared machine pays nothing.
set -euo pipefail
wanted=(libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 fonts-dejavu-core postgresql desktop-file-utils appstream)
missing=()
for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "ci: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
