#!/usr/bin/env bash
# `make deb`: Debian packages of jpki, built with dpkg-deb alone (no cargo-deb, no debhelper), into
# target/deb/:
#
#   jpki-sign              /usr/bin/jpki-sign, its man page, bash/zsh/fish completions
#   openssl-provider-jpki  jpki.so in OpenSSL's MODULESDIR (`openssl version -m`) and the
#                          configuration files /etc/jpki/jpki.cnf, /etc/jpki/jpki-tls12.cnf
#                          (conffiles: an administrator's edits survive upgrades and removal)
#                          — named like Debian's own openssl-provider-legacy / -fips
#   jpki-pkcs11            libjpki-pkcs11.so in the multiarch lib dir's pkcs11/ (where Debian's
#                          p11-kit looks) + the p11-kit .module file (critical: no)
#
# Files are staged with the Makefile's `install-files` (DESTDIR, PREFIX=/usr), so `make install`
# and the packages install the same things. Depends are computed from the ELF files' NEEDED
# libraries (dpkg -S on each), plus pcscd, which talks to the card readers.
#
# Environment: PROFILE (release | dev | any cargo profile; default release), CARGO (cargo),
# JPKI_DEB_NO_BUILD=1 (use what target/ holds), JPKI_DEB_OUT (instead of target/deb).
# Prints the paths of the .deb files it wrote.
set -euo pipefail
umask 022 # directories and files in the packages: 0755 / 0644, whatever the caller's umask

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if ! command -v cargo >/dev/null 2>&1 && [[ -x ${HOME:-/root}/.cargo/bin/cargo ]]; then
    PATH=${HOME:-/root}/.cargo/bin:$PATH
fi
PROFILE=${PROFILE:-release}
CARGO=${CARGO:-cargo}
if [[ $PROFILE == dev ]]; then PROFILE_DIR=debug; else PROFILE_DIR=$PROFILE; fi
BIN=$ROOT/target/$PROFILE_DIR
OUT=${JPKI_DEB_OUT:-$ROOT/target/deb}
MAINTAINER="jpki developers <jpki@localhost>"

for tool in dpkg-deb dpkg-query dpkg openssl objdump; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "deb: '$tool' not found (dpkg, openssl, binutils)" >&2
        exit 1
    fi
done

# --- build --------------------------------------------------------------------------------------
if [[ ${JPKI_DEB_NO_BUILD:-} != 1 ]]; then
    "$CARGO" build --profile "$PROFILE" -p jpki-provider -p jpki-sign -p jpki-pkcs11
fi
for f in "$BIN/jpki-sign" "$BIN/libjpki.so" "$BIN/libjpki_pkcs11.so"; do
    [[ -f $f ]] || { echo "deb: $f not built (PROFILE=$PROFILE)" >&2; exit 1; }
done

ARCH=$(dpkg --print-architecture)
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || true)
MODULESDIR=$(openssl version -m | sed -E 's/^[^"]*"([^"]*)".*/\1/')
[[ -n $MODULESDIR && -n $MULTIARCH ]] || { echo "deb: cannot find MODULESDIR or the multiarch triplet" >&2; exit 1; }
# Debian versions may not contain '-' in the upstream part without a revision: add "-1".
VERSION=$("$BIN/jpki-sign" --version | awk '{print $2}')-1
[[ $VERSION =~ ^[0-9] ]] || { echo "deb: cannot read the version from jpki-sign --version" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jpki-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
STAGE=$WORK/stage
make --no-print-directory install-files DESTDIR="$STAGE" PREFIX=/usr PROFILE="$PROFILE" \
    MODULESDIR="$MODULESDIR" >/dev/null

# --- helpers ------------------------------------------------------------------------------------

# The packages owning the shared libraries that the ELF files need, comma-separated.
shlib_depends() {
    local lib path cand owner pkgs=()
    for lib in $(objdump -p "$@" | awk '$1 == "NEEDED" {print $2}' | sort -u); do
        path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
        [[ -n $path ]] || { echo "deb: no installed library $lib" >&2; return 1; }
        # With merged /usr a package may have shipped the file under /lib or under /usr/lib.
        owner=""
        for cand in "$path" "$(readlink -f "$path")" "/usr${path#/usr}" "${path#/usr}"; do
            owner=$(dpkg -S "$cand" 2>/dev/null | head -n 1 | cut -d: -f1) && [[ -n $owner ]] && break
        done
        [[ -n $owner ]] || { echo "deb: no package owns $path ($lib)" >&2; return 1; }
        pkgs+=("$owner")
    done
    printf '%s\n' "${pkgs[@]}" | sort -u | paste -sd, | sed 's/,/, /g'
}

copyright() {
    mkdir -p "$1/usr/share/doc/$2"
    cat >"$1/usr/share/doc/$2/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: jpki
Source: the jpki repository (README.md)

Files: *
License: MIT or Apache-2.0
 The jpki workspace is dual-licensed under the MIT license and the Apache
 License 2.0, at your option (Cargo.toml: license = "MIT OR Apache-2.0").
 On Debian systems the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
EOF
}

# build_pkg DIR NAME DEPENDS DESCRIPTION-LINES... : DEBIAN/control (+ md5sums), then dpkg-deb.
build_pkg() {
    local dir=$1 name=$2 depends=$3
    shift 3
    copyright "$dir" "$name"
    mkdir -p "$dir/DEBIAN"
    local size
    size=$(du -sk --exclude=DEBIAN "$dir" | cut -f1)
    {
        echo "Package: $name"
        echo "Version: $VERSION"
        echo "Architecture: $ARCH"
        echo "Maintainer: $MAINTAINER"
        echo "Installed-Size: $size"
        echo "Depends: $depends"
        echo "Section: utils"
        echo "Priority: optional"
        printf 'Description: %s\n' "$1"
        shift
        local l
        for l in "$@"; do printf ' %s\n' "${l:-.}"; done
    } >"$dir/DEBIAN/control"
    (cd "$dir" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
        xargs -0 -r md5sum) >"$dir/DEBIAN/md5sums"
    # Files belong to root whoever builds (dpkg-deb --root-owner-group, dpkg >= 1.19).
    dpkg-deb --root-owner-group -Zxz --build "$dir" "$OUT/${name}_${VERSION}_${ARCH}.deb" >/dev/null
    echo "$OUT/${name}_${VERSION}_${ARCH}.deb"
}

mkdir -p "$OUT"
rm -f "$OUT"/*.deb

# --- jpki-sign ----------------------------------------------------------------------------------
P=$WORK/jpki-sign
install -D -m 0755 "$STAGE/usr/bin/jpki-sign" "$P/usr/bin/jpki-sign"
strip --strip-unneeded "$P/usr/bin/jpki-sign" 2>/dev/null || true
mkdir -p "$P/usr/share/man/man1"
"$BIN/jpki-sign" man | gzip -9n >"$P/usr/share/man/man1/jpki-sign.1.gz"
install -d "$P/usr/share/bash-completion/completions" "$P/usr/share/zsh/vendor-completions" \
    "$P/usr/share/fish/vendor_completions.d"
"$BIN/jpki-sign" completions bash >"$P/usr/share/bash-completion/completions/jpki-sign"
"$BIN/jpki-sign" completions zsh >"$P/usr/share/zsh/vendor-completions/_jpki-sign"
"$BIN/jpki-sign" completions fish >"$P/usr/share/fish/vendor_completions.d/jpki-sign.fish"
chmod 0644 "$P"/usr/share/*/*/* "$P"/usr/share/*/*/*/* 2>/dev/null || true
build_pkg "$P" jpki-sign "$(shlib_depends "$P/usr/bin/jpki-sign"), pcscd" \
    "sign PDFs and CMS with the My Number card (JPKI)" \
    "jpki-sign signs PDF files (incremental update, PAdES B-B or the Ministry of" \
    "Justice profile) and CMS data with the signature key of the Japanese My Number" \
    "card, verifies such signatures, reads the card's certificates and PIN counters," \
    "changes PINs and serves the authentication key to ssh as an agent." \
    "" \
    "Every command follows one PIN policy: format checked offline, tries counter read" \
    "before each VERIFY, no automatic retry, last try refused unless asked for."

# --- openssl-provider-jpki ----------------------------------------------------------------------
P=$WORK/openssl-provider-jpki
install -D -m 0644 "$STAGE$MODULESDIR/jpki.so" "$P$MODULESDIR/jpki.so"
strip --strip-unneeded "$P$MODULESDIR/jpki.so" 2>/dev/null || true
install -D -m 0644 "$STAGE/etc/jpki/jpki.cnf" "$P/etc/jpki/jpki.cnf"
install -D -m 0644 "$STAGE/etc/jpki/jpki-tls12.cnf" "$P/etc/jpki/jpki-tls12.cnf"
mkdir -p "$P/DEBIAN"
printf '%s\n' /etc/jpki/jpki.cnf /etc/jpki/jpki-tls12.cnf >"$P/DEBIAN/conffiles"
build_pkg "$P" openssl-provider-jpki "$(shlib_depends "$P$MODULESDIR/jpki.so"), pcscd" \
    "OpenSSL 3 provider for the My Number card (JPKI) keys" \
    "The jpki provider makes the two RSA keys of the Japanese My Number card usable" \
    "in any OpenSSL 3 program through jpki: URIs (jpki:auth, jpki:sign) or PEM key" \
    "files naming them: openssl cms/dgst/req/s_client, curl, nginx." \
    "" \
    "/etc/jpki/jpki.cnf activates it beside the default provider" \
    "(OPENSSL_CONF=/etc/jpki/jpki.cnf); jpki-tls12.cnf adds TLS 1.2 settings for" \
    "client certificates."

# --- jpki-pkcs11: the module and its p11-kit file, as `make install-files` staged them -----------
P11_SO=$(find "$STAGE/usr/lib" -name libjpki-pkcs11.so -print -quit)
P11_MODULE=$STAGE/usr/share/p11-kit/modules/jpki.module
[[ -n $P11_SO && -f $P11_MODULE ]] || { echo "deb: install-files staged no PKCS#11 module" >&2; exit 1; }
P=$WORK/jpki-pkcs11
P11_REL=${P11_SO#"$STAGE"}
install -D -m 0644 "$P11_SO" "$P$P11_REL"
strip --strip-unneeded "$P$P11_REL" 2>/dev/null || true
install -D -m 0644 "$P11_MODULE" "$P/usr/share/p11-kit/modules/jpki.module"
build_pkg "$P" jpki-pkcs11 "$(shlib_depends "$P$P11_REL"), pcscd" \
    "PKCS#11 module for the My Number card (JPKI) keys" \
    "libjpki-pkcs11.so gives PKCS#11 applications (Firefox, Chromium, NSS, OpenSSH," \
    "p11-kit and GnuTLS users, Java, pyHanko) the two RSA keys of the Japanese My" \
    "Number card, under the jpki PIN policy. It is registered with p11-kit" \
    "(jpki.module, not critical: programs keep working without a card)."
