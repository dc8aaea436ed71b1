#!/usr/bin/env bash
# Issue a device certificate (CN = device id) from the fleet CA. EC P-256 keys: the TLS handshake over
# cellular is a few hundred bytes shorter than with RSA-2048.
# Usage: make-device-cert.sh CA.crt CA.key DEVICE_ID OUTDIR [DAYS]
set -euo pipefail
ca_crt=$1 ca_key=$2 id=$3 out=$4 days=${5:-825}
[[ $id =~ ^[A-Za-z0-9_.:-]{1,64}$ ]] || { echo "device id must be 1-64 of A-Z a-z 0-9 _ . : -" >&2; exit 2; }
mkdir -p "$out"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$id" \
    -keyout "$out/$id.key" -out "$out/$id.csr" 2>/dev/null
openssl x509 -req -in "$out/$id.csr" -CA "$ca_crt" -CAkey "$ca_key" -CAcreateserial -days "$days" \
    -extfile <(printf "extendedKeyUsage=clientAuth\n") -out "$out/$id.crt" 2>/dev/null
rm -f "$out/$id.csr"
chmod 600 "$out/$id.key"
echo "$out/$id.crt $out/$id.key"
