#!/bin/sh
# Regenerates the fixed test certificates of tests/x509 (run once, by hand;
# the tests never call openssl). P-256 keys, validity 2025..2125.
#   ca.pem / ca.key            a test root CA ("creditproof test verifier CA")
#   leaf.pem / leaf.key        its leaf for DNS:localhost (serverAuth)
#   chain.pem                  leaf.pem then ca.pem (what --cert-chain takes)
#   other-ca.pem               an unrelated root CA (an untrusted anchor)
#   other-leaf.pem / .key      a leaf for DNS:other.example under ca.pem
#   nosan-leaf.pem / .key      a leaf without a SAN under ca.pem
#   ed-leaf.pem / ed-leaf.key  an Ed25519 leaf for DNS:localhost under ca.pem
set -eu
cd "$(dirname "$0")"
days=36500
key() { openssl genpkey -algorithm "$1" ${2:+-pkeyopt ec_paramgen_curve:P-256} -out "$3"; }
key EC y ca.key
openssl req -x509 -new -key ca.key -subj "/CN=creditproof test verifier CA" -days $days \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out ca.pem
key EC y other-ca.key
openssl req -x509 -new -key other-ca.key -subj "/CN=creditproof other CA" -days $days \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out other-ca.pem
leaf() { # name keyalg san
  if [ "$2" = ED25519 ]; then key ED25519 "" "$1.key"; else key EC y "$1.key"; fi
  openssl req -new -key "$1.key" -subj "/CN=creditproof test verifier" -out "$1.csr"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days $days -extfile "$1.ext" -out "$1.pem"
  rm "$1.csr" "$1.ext"
}
leaf leaf EC "subjectAltName=DNS:localhost"
leaf other-leaf EC "subjectAltName=DNS:other.example"
leaf nosan-leaf EC ""
leaf ed-leaf ED25519 "subjectAltName=DNS:localhost"
cat leaf.pem ca.pem > chain.pem
rm -f ca.srl ca.key other-ca.key
