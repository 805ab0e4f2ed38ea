#!/bin/sh
# check-unit.sh UNIT [MAX_SCORE]: the CI check of a systemd unit (not installed).
#
# Without systemd as PID 1, systemd-analyze works on a copy of the unit
# whose ExecStart= points at a binary that exists here (/bin/true), because
# "verify" fails when the command is not executable. "verify" exits 0 even
# for some parse errors ("Failed to parse service type, ignoring"), so any
# output at all is a failure. "security --offline=true" prints the exposure
# score, which must not exceed MAX_SCORE (default 3.0).
set -eu
unit=${1:?usage: check-unit.sh UNIT [MAX_SCORE]}
max=${2:-3.0}
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing: run \`make deps\`" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
copy="$tmp/$(basename "$unit")"
sed 's#^ExecStart=/usr/bin/omadm-agent#ExecStart=/bin/true#' "$unit" >"$copy"
grep -q '^ExecStart=/bin/true' "$copy" || { echo "$unit: no ExecStart=/usr/bin/omadm-agent line to rewrite" >&2; exit 1; }

if ! systemd-analyze verify --man=no "$copy" >"$tmp/verify.out" 2>&1 || [ -s "$tmp/verify.out" ]; then
	echo "FAIL: systemd-analyze verify $unit printed:" >&2
	cat "$tmp/verify.out" >&2
	exit 1
fi
echo "systemd-analyze verify $unit: clean (no output)"

if ! systemd-analyze security --offline=true --no-pager "$copy" >"$tmp/security.out" 2>&1; then
	echo "FAIL: systemd-analyze security $unit:" >&2
	cat "$tmp/security.out" >&2
	exit 1
fi
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' "$tmp/security.out")
if [ -z "$score" ]; then
	echo "FAIL: no exposure score in systemd-analyze security output:" >&2
	cat "$tmp/security.out" >&2
	exit 1
fi
echo "systemd-analyze security $unit: exposure $score (limit $max)"
if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }'; then
	echo "FAIL: exposure $score is above $max; what is exposed:" >&2
	grep '✗' "$tmp/security.out" >&2 || true
	exit 1
fi
