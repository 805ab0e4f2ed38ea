#!/usr/bin/env bash
# Whole-process comparison: `omadm-agent syncml decode` vs libwbxml's `wbxml2xml`
# on the same ~1 MB SyncML DM WBXML file. Usage: testdata/bench/compare-wbxml2xml.sh [RUNS]
# Needs bin/omadm-agent (make build) and libwbxml2-utils (make deps).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A server package with 9,000 Replace commands (~1 MB in WBXML).
{
  printf '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>2</MsgID>'
  printf '<Target><LocURI>IMEI:493005100592800</LocURI></Target><Source><LocURI>https://dm.example.com/dm</LocURI></Source></SyncHdr><SyncBody>'
  for i in $(seq 1 9000); do
    printf '<Replace><CmdID>%d</CmdID><Item><Target><LocURI>./Vendor/Acme/Settings/Node%d/Value</LocURI></Target><Meta><Format xmlns="syncml:metinf">chr</Format><Type xmlns="syncml:metinf">text/plain</Type></Meta><Data>value-%d-abcdefghijklmnopqrstuvwxyz0123456789</Data></Item></Replace>' "$i" "$i" "$i"
  done
  printf '<Final/></SyncBody></SyncML>'
} > "$tmp/big.xml"
bin/omadm-agent syncml encode "$tmp/big.xml" > "$tmp/big.wbxml"
size=$(stat -c %s "$tmp/big.wbxml")
echo "input: $size bytes of WBXML, $runs runs each"
TIMEFORMAT="  wall %R s, user %U s, sys %S s (for $runs runs)"
echo "omadm-agent syncml decode:" >&2
time (for _ in $(seq "$runs"); do bin/omadm-agent syncml decode "$tmp/big.wbxml" > /dev/null; done)
echo "wbxml2xml (libwbxml $(dpkg-query -W -f='${Version}' libwbxml2-utils 2>/dev/null)):" >&2
time (for _ in $(seq "$runs"); do wbxml2xml -o "$tmp/out.xml" "$tmp/big.wbxml" 2>/dev/null; done)
