#!/usr/bin/env bash
# Install the Debian packages jpki needs (build, simulator behind pcscd/vpcd, demo tools) if any
# is missing. Runs apt-get only then. Works as root (CI) or through sudo.
set -euo pipefail

PACKAGES=(
    pcscd libpcsclite-dev vsmartcard-vpcd # PC/SC daemon, headers, virtual reader for the simulator
    opensc pcsc-tools                     # independent clients (opensc-tool, pkcs15-tool, pcsc_scan)
    libengine-pkcs11-openssl              # libp11's OpenSSL engine: OpenSC in `openssl` (make bench)
    poppler-utils qpdf                    # pdfsig, PDF inspection for the demo and tests
    fonts-ipaexfont-gothic                # a Japanese TrueType font: jpki-sign embeds a subset in visible signatures
    libnss3-tools                         # certutil: an NSS trust store so pdfsig checks certificates too
    libssl-dev pkg-config openssl         # OpenSSL provider build and verification
    openssh-server openssh-client         # jpki-sign ssh agent against a real sshd (tests/tests/ssh.rs)
    curl nginx-light                      # TLS client authentication with the card (tests/tests/tls.rs)
    chromium firefox-esr                  # real browsers authenticating with the card (tests/tests/browser.rs)
    valgrind                              # memory check of the provider (tests/tests/hygiene.rs)
    gnutls-bin p11-kit                    # p11tool and p11-kit list-modules over the PKCS#11 module (tests/tests/pkcs11.rs)
    pinentry-tty                          # a pinentry for the module's pin-source=pinentry
    time                                  # GNU time: peak memory in make bench
    make
)

# pyHanko signs PDFs through the PKCS#11 module in the tests (tests/tests/pkcs11.rs); it and
# python-pkcs11 come from PyPI. Installed for whichever python3 is first on PATH, only when
# missing; an externally managed Debian python needs --break-system-packages (pip >= 23).
PIP_PACKAGES=(pyhanko pyhanko-cli python-pkcs11)
pip_deps() {
    if python3 -c 'import pyhanko.cli, pkcs11' >/dev/null 2>&1; then
        return 0
    fi
    echo "deps: pip installing ${PIP_PACKAGES[*]}"
    python3 -m pip install --quiet "${PIP_PACKAGES[@]}" ||
        python3 -m pip install --quiet --break-system-packages "${PIP_PACKAGES[@]}"
}
trap 'rc=$?; if ((rc == 0)); then pip_deps || exit 1; fi' EXIT

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system (no dpkg-query); install these yourself: ${PACKAGES[*]}" >&2
    exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) != "install ok installed" ]]; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    echo "deps: all ${#PACKAGES[@]} Debian packages already installed"
    exit 0
fi

if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "deps: missing ${missing[*]}; run as root or install sudo" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "${missing[@]}"

# pcscd reads /etc/reader.conf.d only at start-up: a pcscd that the installation started before
# vsmartcard-vpcd was unpacked has no vpcd reader. Restart it (pcscd --hotplug does not re-read it).
if [[ " ${missing[*]} " == *" vsmartcard-vpcd "* ]]; then
    for comm in /proc/[0-9]*/comm; do
        if [[ $(cat "$comm" 2>/dev/null) == pcscd ]]; then
            echo "deps: restarting the running pcscd so that it loads the vpcd reader"
            if [[ -d /run/systemd/system ]]; then
                "${as_root[@]}" systemctl restart pcscd.service || true
            elif [[ -x /etc/init.d/pcscd ]]; then
                "${as_root[@]}" /etc/init.d/pcscd restart || true
            fi
            break
        fi
    done
fi
