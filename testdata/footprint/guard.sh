#!/usr/bin/env bash
# Guards the size decisions recorded in BENCHMARKS.md, on the linux/arm
# binary as shipped (run by make test through mk/footprint.mk):
#  1. no reachable function outside package reflect calls
#     reflect.Value.Method/MethodByName (the linker then keeps every exported
#     method of every type: +1.2 MB, as godbus's conn.Export did);
#  2. net/http's HTTP/2 client is left out (build tag nethttpomithttp2);
#  3. the stripped binary stays under a ceiling (today's size + 5 %), so a
#     new dependency that costs real flash space is a conscious decision.
set -euo pipefail
cd "$(dirname "$0")/../.."
CEILING=${CEILING:-9150000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tags=${GOTAGS:-nethttpomithttp2}
GOOS=linux GOARCH=arm GOARM=7 CGO_ENABLED=0 go build -tags "$tags" -trimpath \
	-ldflags '-s -w -dumpdep' -o "$work/arm" ./agent/cmd/omadm-agent 2>"$work/dep"
fail=0
if grep -E '<ReflectMethod>' "$work/dep" | grep -vE '^(reflect\.|type:reflect\.)' | grep -q .; then
	echo "guard: reflect.Value.Method is reachable from:" >&2
	grep -E '<ReflectMethod>' "$work/dep" | grep -vE '^(reflect\.|type:reflect\.)' | awk '{print "  " $1}' | sort -u >&2
	fail=1
fi
if grep -qE '^net/http\.\(\*http2Transport\)' "$work/dep"; then
	echo "guard: net/http's HTTP/2 client is linked in (build without -tags nethttpomithttp2?)" >&2
	fail=1
fi
size=$(stat -c %s "$work/arm")
if ((size > CEILING)); then
	echo "guard: linux/arm binary is $size B, over the ceiling of $CEILING B (testdata/footprint/guard.sh)" >&2
	fail=1
fi
if ((fail == 0)); then
	echo "guard: linux/arm $size B (ceiling $CEILING), no reflect method tables, no HTTP/2: ok"
fi
exit $fail
