#!/usr/bin/env bash
# Build relais_<version>_all.deb with dpkg-deb alone (no debhelper, no network beyond PyPI for the pinned wheels
# of vendor.txt, fetched once into build/deb-wheels). Usage: packaging/debian/build.sh [OUTDIR]  (default: dist)
# PIP: the pip to fetch wheels with (default: .venv's). SOURCE_DATE_EPOCH: file times (default: the last commit).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)
py=python3
pip=${PIP:-$root/.venv/bin/python -m pip}
version=${VERSION:-}   # VERSION: another version than pyproject.toml's (the upgrade test builds a second one)
[ -n "$version" ] || version=$($py -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
    "$root/pyproject.toml")
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/relais
lib=$pkg/usr/lib/relais
doc=$pkg/usr/share/doc/relais

# The code: the packages and package data a wheel of this project holds (pyproject.toml), no tests, no caches.
mkdir -p "$lib"
(cd "$root" && find agent modem board common -type f \( -name '*.py' -o -name '*.toml' -o -name '*.json' \) \
    -not -path '*/__pycache__/*' -print0 | xargs -0 cp --parents -t "$lib")

# The vendored libraries: pure-Python wheels unpacked as they are, license files included.
wheels=$root/build/deb-wheels
mkdir -p "$wheels" "$lib/vendor"
while read -r req; do
    case "$req" in ''|'#'*) continue ;; esac
    name=${req%%==*}; ver=${req#*==}
    whl=$(find "$wheels" -maxdepth 1 -iname "${name//-/_}-${ver}-py3-none-any.whl" | head -n1)
    if [ -z "$whl" ]; then
        $pip download -q --no-deps --only-binary :all: --dest "$wheels" "$req" >&2
        whl=$(find "$wheels" -maxdepth 1 -iname "${name//-/_}-${ver}-py3-none-any.whl" | head -n1)
        [ -n "$whl" ] || { echo "build.sh: no pure-Python wheel for $req" >&2; exit 1; }
    fi
    $py -m zipfile -e "$whl" "$lib/vendor"
done < "$here/vendor.txt"
find "$lib" -name __pycache__ -type d -prune -exec rm -rf {} +
# A few vendored modules start with "#!/usr/bin/env python"; Debian has only python3 (as dh_python3 rewrites them).
grep -rlZ --include='*.py' '^#!.*python$' "$lib/vendor" | xargs -0 -r sed -i '1s|^#!.*python$|#!/usr/bin/python3|'
rm -f "$lib"/vendor/*.dist-info/RECORD   # pip's install record; nothing reads it here

install -D -m 0755 "$here/relais" "$pkg/usr/bin/relais"
install -D -m 0644 "$root/packaging/relais.service" "$pkg/lib/systemd/system/relais.service"
install -D -m 0644 "$root/packaging/udev/78-relais-modem.rules" "$pkg/lib/udev/rules.d/78-relais-modem.rules"
# Shipped 0640 so it is never world-readable, even before postinst gives it to group relais.
install -D -m 0640 "$root/packaging/relais.toml" "$pkg/etc/relais/relais.toml"
install -D -m 0644 "$here/copyright" "$doc/copyright"
install -D -m 0644 "$here/lintian-overrides" "$pkg/usr/share/lintian/overrides/relais"
mkdir -p "$pkg/usr/share/man/man1" && gzip -9n < "$here/relais.1" > "$pkg/usr/share/man/man1/relais.1.gz"
gzip -9n < "$root/packaging/README.md" > "$doc/README.Debian.gz"
mkdir -p "$doc" && {
    printf 'relais (%s) unstable; urgency=medium\n\n' "$version"
    printf '  * Built from the source tree by make package; the history is in git.\n\n'
    printf ' -- relais maintainers <relais@example.org>  %s\n' "$(date -R -u -d "@$epoch")"
} | gzip -9n > "$doc/changelog.gz"

mkdir -p "$pkg/DEBIAN"
install -m 0644 "$here/conffiles" "$pkg/DEBIAN/conffiles"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$pkg/DEBIAN/"
find "$pkg" -type d -exec chmod 0755 {} +
find "$lib" -type f -exec chmod 0644 {} +
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -print0 | sort -z | xargs -0 md5sum | sed 's| \./| |') \
    > "$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@INSTALLED_SIZE@/$size/" "$here/control.in" > "$pkg/DEBIAN/control"
find "$pkg" -exec touch -h -d "@$epoch" {} +

deb=$out/relais_${version}_all.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
