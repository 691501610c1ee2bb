#!/usr/bin/env bash
# `make demo` body: runs jpki-sign against the (already started) simulated card.
# Run it through scripts/with-sim.sh, or after `make sim-up`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SIGN=target/debug/jpki-sign
if [[ ! -x $SIGN ]]; then
    echo "demo: $SIGN not found — build first: cargo build --workspace (or: make build)" >&2
    exit 1
fi

# The simulator's reader is virtual: jpki uses it only because it is named (JPKI_READER, set by
# with-sim.sh), and says so once per program on stderr — the demo shows that notice.
export JPKI_READER=${JPKI_READER:-Virtual PCD 00 00}
unset JPKI_VIRTUAL_READER_NOTICE

n=0
step() {
    local title=$1
    shift
    n=$((n + 1))
    printf '\n=== Step %d: %s\n=== $ %s\n' "$n" "$title" "$*"
    "$@"
}

step "Which card is in the reader?" "$SIGN" card
step "How many PIN tries are left? (asking spends none)" "$SIGN" pin status
PKI=${JPKI_SIM_DIR:-$ROOT/target/sim}/pki
step "Read the authentication certificate from the card" "$SIGN" cert auth -o "$PKI/../demo-auth.pem" --force
step "Check it against the simulator's test CA with openssl" openssl verify -CAfile "$PKI/auth-ca.pem" "$PKI/../demo-auth.pem"

# --- PDF and CMS signing (issue 6) ---------------------------------------------------------------
DEMO=${JPKI_SIM_DIR:-$ROOT/target/sim}/demo
mkdir -p "$DEMO"
# A one-page sample PDF: written without a cross-reference table, which qpdf then rebuilds
# (qpdf exits 3 for "repaired with warnings"), so the demo needs nothing beyond its packages.
printf '%s\n' '%PDF-1.7' \
    '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj' \
    '2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj' \
    '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >> endobj' \
    '4 0 obj << /Length 53 >> stream' \
    'BT /F1 24 Tf 72 720 Td (jpki demo: signed PDF) Tj ET' \
    'endstream endobj' \
    '5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj' \
    'trailer << /Root 1 0 R /Size 6 >>' '%%EOF' >"$DEMO/raw.pdf"
qpdf "$DEMO/raw.pdf" "$DEMO/sample.pdf" 2>/dev/null || [[ $? == 3 ]]
printf '\n(The sign password goes through --pin-file - here; on a terminal jpki-sign asks for it.)\n'
step "Sign a PDF with the sign key (MOJ-compatible adbe.pkcs7.detached, incremental update)" \
    bash -c "echo ABC123 | $SIGN '$DEMO/sample.pdf' --force --pin-file - --reason 'jpki demo'"
step "Check the structure with qpdf" qpdf --check "$DEMO/sample-signed.pdf"
# poppler checks certificates against an NSS store: one that trusts the simulator's test CA.
rm -rf "$DEMO/nss" && mkdir -p "$DEMO/nss"
certutil -N -d "sql:$DEMO/nss" --empty-password
certutil -A -d "sql:$DEMO/nss" -n jpki-sim-sign-ca -t "CT,C,C" -i "$PKI/sign-ca.pem"
step "Check the signature and certificate with poppler" pdfsig -nssdir "sql:$DEMO/nss" "$DEMO/sample-signed.pdf"
step "Check it with jpki-sign against the test CA" "$SIGN" verify "$DEMO/sample-signed.pdf" --ca "$PKI/sign-ca.pem"
# The CMS inside the PDF, verified by OpenSSL over exactly the bytes the ByteRange covers.
rm -f "$DEMO/sample-signed.pdf.sig0"
(cd "$DEMO" && pdfsig -nocert -dump sample-signed.pdf >/dev/null)
read -r r1 r2 r3 r4 < <(pdfsig -nocert "$DEMO/sample-signed.pdf" |
    sed -n 's/.*Signed Ranges: \[\([0-9]*\) - \([0-9]*\)\], \[\([0-9]*\) - \([0-9]*\)\].*/\1 \2 \3 \4/p' | tail -n 1)
{ head -c "$r2" "$DEMO/sample-signed.pdf"; tail -c +"$((r3 + 1))" "$DEMO/sample-signed.pdf" | head -c "$((r4 - r3))"; } >"$DEMO/covered.bin"
: "$r1"
step "Verify the PDF's CMS with openssl over the signed byte ranges" \
    openssl cms -verify -binary -inform DER -in "$DEMO/sample-signed.pdf.sig0" -content "$DEMO/covered.bin" \
    -CAfile "$PKI/sign-ca.pem" -purpose any -out /dev/null
echo "jpki demo: a detached CMS signature" >"$DEMO/note.txt"
step "Sign a file as detached CMS (note.txt.p7s)" \
    bash -c "echo ABC123 | $SIGN cms sign '$DEMO/note.txt' --detached --force --pin-file -"
step "Verify it with openssl cms -verify" \
    openssl cms -verify -binary -inform DER -in "$DEMO/note.txt.p7s" -content "$DEMO/note.txt" \
    -CAfile "$PKI/sign-ca.pem" -purpose any -out /dev/null
step "Verify it with jpki-sign" "$SIGN" cms verify "$DEMO/note.txt.p7s" --content "$DEMO/note.txt" --ca "$PKI/sign-ca.pem"

# The same card key inside OpenSSL itself, through the jpki provider (no jpki-sign involved).
mkdir -p target/debug/ossl-modules
ln -sf ../libjpki.so target/debug/ossl-modules/jpki.so
export OPENSSL_MODULES=$ROOT/target/debug/ossl-modules
echo ABC123 >"$DEMO/pw"
step "Sign with openssl through the provider (openssl cms -sign -provider jpki … jpki:sign)" \
    openssl cms -sign -provider jpki -provider default -binary -in "$DEMO/note.txt" \
    -signer "jpki:sign?pin-source=file:$DEMO/pw" -inkey jpki:sign -outform DER -out "$DEMO/note.openssl.p7s"
rm -f "$DEMO/pw"
step "Verify it with openssl cms -verify" \
    openssl cms -verify -binary -inform DER -in "$DEMO/note.openssl.p7s" -content "$DEMO/note.txt" \
    -CAfile "$PKI/sign-ca.pem" -purpose any -out /dev/null

printf '\n=== Demo finished.\n'
