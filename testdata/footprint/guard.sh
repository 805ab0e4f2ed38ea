#!/usr/bin/env bash
# Guards the size decisions recorded in BENCHMARKS.md, on the linux/arm
# binary as shipped (run by make test through mk/footprint.mk):
#  1. reflect's Method/MethodByName are not linked in. A reachable call of
#     them makes the linker keep every exported method of every type
#     (+1.2 MB, as godbus's conn.Export did); when they are present, the
#     guard names the callers (the linker's <ReflectMethod> marks);
#  2. net/http's HTTP/2 client is left out (build tag nethttpomithttp2);
#  3. the stripped binary stays under a ceiling (two 64 KiB steps above the
#     size at the last raise), so a new dependency or feature that costs
#     real flash space is a conscious decision, recorded in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
CEILING=${CEILING:-9570000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tags=${GOTAGS:-nethttpomithttp2}
build() { GOOS=linux GOARCH=arm GOARM=7 CGO_ENABLED=0 go build -tags "$tags" -trimpath "$@" ./agent/cmd/omadm-agent; }
build -ldflags '-s -w' -o "$work/arm"
build -o "$work/arm.syms"
go tool nm "$work/arm.syms" >"$work/nm"
fail=0
if grep -qE ' reflect\.(\(\*?Value\)|Value|\(\*rtype\)|\(\*interfaceType\))\.Method(ByName)?$' "$work/nm"; then
	echo "guard: reflect's Method/MethodByName are linked in; callers:" >&2
	# -dumpdep output lands in the build cache with the link; build it
	# in a scratch output only on this failure path.
	build -ldflags '-dumpdep' -o "$work/arm.dep" 2>&1 | grep -E '<ReflectMethod>' |
		grep -vE '^(reflect\.|type:reflect\.)' | awk '{print "  " $1}' | sort -u >&2 || true
	fail=1
fi
if grep -qE ' net/http\.\(\*http2Framer\)' "$work/nm"; then
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
