#!/usr/bin/env bash
# Footprint of omadm-agent: binary sizes, idle RSS of the daemon, peak RSS of
# 1,000-command DM sessions. Run from anywhere in the checkout:
#
#   testdata/footprint/measure.sh            (or: make footprint)
#
# Environment:
#   FOOTPRINT_N=1000      commands per session
#   FOOTPRINT_NOBUILD=1   reuse bin/ (skip make build cross)
#   FOOTPRINT_KEEP=1      keep the work directory (logs, configs, state)
#   FOOTPRINT_QEMU=0      skip the qemu-user runs of the cross binaries
#   FOOTPRINT_GCVARIANTS=0  skip the GOGC/GOMEMLIMIT variants
#   FOOTPRINT_AGENT=FILE  run this amd64 agent binary instead of bin/omadm-agent
#                         (experiments, e.g. a build with a code change)
#
# What it does (details and results: testdata/footprint/RESULTS.md):
#   1. make build cross; builds omadm-dmserver (if present) and the test
#      server driver testdata/footprint/fpserver (agent/dmtest over HTTPS);
#      prints every binary's size, and the largest packages of linux/arm by
#      symbol size (go tool nm -size on an unstripped build).
#   2. Generates a scenario of three client-initiated sessions: Add of
#      ./Vendor/Footprint and N leaves (N+1 commands), N Replace, N Get
#      (root ACL Add=* lets the server create the subtree; it then owns it),
#      md5 digest authentication both ways, WBXML.
#   3. One-shot: omadm-agent bootstrap (a generated DM bootstrap XML), then
#      the three sessions as "omadm-agent session" under /usr/bin/time -v
#      (Maximum resident set size = the process's VmHWM).
#   4. Daemon: "omadm-agent run" without D-Bus (DBUS_SYSTEM_BUS_ADDRESS
#      points at a socket that does not exist) and no modem; VmRSS/VmHWM
#      3 s after "agent ready"; then SIGUSR1 three times (one session each),
#      VmRSS/VmHWM after each session; then the same with a private
#      dbus-daemon (bus = "session") for the idle figure with the D-Bus API.
#   5. linux/arm: "version" under qemu-arm-static, and the daemon's idle RSS
#      under qemu-arm-static (qemu's own RSS dominates that figure).
# Every process it starts is stopped by PID at exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
N=${FOOTPRINT_N:-1000}
WORK=$(mktemp -d /tmp/omadm-footprint.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [[ ${FOOTPRINT_KEEP:-0} == 1 ]]; then
		echo "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

say() { printf '%s\n' "$*"; }
hr() { printf '\n== %s\n' "$*"; }
mib() { awk -v b="$1" 'BEGIN{printf "%.2f MiB", b/1048576}'; }
kib2mib() { awk -v k="$1" 'BEGIN{printf "%.1f MiB", k/1024}'; }

# status_kb PID FIELD: a field of /proc/PID/status in kB.
status_kb() { awk -v f="$2:" '$1==f{print $2}' "/proc/$1/status"; }

# wait_for COND_CMD SECONDS WHAT
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if eval "$1"; then return 0; fi
		sleep 0.1
	done
	say "timed out after $2 s waiting for $3" >&2
	return 1
}

# ---------------------------------------------------------------- 1. build
hr "build"
say "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
say "machine: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
say "go: $(go version)"
say "tree: $(git describe --tags --always --dirty 2>/dev/null || echo unknown)"
if [[ ${FOOTPRINT_NOBUILD:-0} != 1 ]]; then
	make --no-print-directory build cross >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
fi
BINS=(bin/omadm-agent bin/omadm-agent-linux-arm bin/omadm-agent-linux-arm64 bin/omadm-agent-linux-mipsle)
if compgen -G 'agent/cmd/omadm-dmserver/*.go' >/dev/null; then
	if CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o bin/omadm-dmserver ./agent/cmd/omadm-dmserver 2>"$WORK/dmserver.log"; then
		BINS+=(bin/omadm-dmserver)
	else
		say "omadm-dmserver does not build right now (another helper is changing it); size skipped"
	fi
else
	say "agent/cmd/omadm-dmserver has no source yet; size skipped"
fi
CGO_ENABLED=0 go build -trimpath -o "$WORK/fpserver" ./testdata/footprint/fpserver
# Private copies: other builds may rewrite bin/ while this runs.
AGENT="$WORK/omadm-agent"
ARMBIN="$WORK/omadm-agent-linux-arm"
cp "${FOOTPRINT_AGENT:-bin/omadm-agent}" "$AGENT"
cp bin/omadm-agent-linux-arm "$ARMBIN"

hr "binary sizes (built with -trimpath -ldflags '-s -w', CGO_ENABLED=0: stripped, static)"
printf '%-30s %10s  %s\n' binary bytes MiB
for b in "${BINS[@]}"; do
	s=$(stat -c %s "$b")
	printf '%-30s %10d  %s\n' "$b" "$s" "$(mib "$s")"
done
ARM_BYTES=$(stat -c %s bin/omadm-agent-linux-arm)

# pkg_sizes UNSTRIPPED_BIN OUT: bytes of symbols per package, file-backed
# sections only (everything below .bss: go tool nm prints BSS symbols as D
# too, e.g. a 32 MiB fips140 buffer). Generics, itabs, type descriptors and
# .eq/.hash functions go to the package of their type; asm symbols without a
# package to runtime. Writes the total to OUT.total.
pkg_sizes() {
	local bss
	bss=$(readelf -SW "$1" | awk '{for (i = 1; i < NF; i++) if ($i == ".bss") print $(i + 2)}')
	go tool nm -size "$1" | awk -v bss="$bss" '
function hex(h,   i, v) { v = 0; for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(tolower(h), i, 1)) - 1; return v }
function pkgof(s,   i, rest, slash, dot) {
	if (s ~ /^go:itab\./) { s = substr(s, 9); sub(/,.*/, "", s) }
	else if (s ~ /^type:/) { s = substr(s, 6); sub(/^\.(eq|hash)\./, "", s); sub(/^[][0-9*]+/, "", s); if (s !~ /\./ || s ~ /^(map|func|struct|interface|chan|noalg)/) return "(tables)" }
	else if (s ~ /^go:/ || s ~ /^\$/) return "(tables)"
	sub(/^\.(eq|hash)\./, "", s); sub(/^[][0-9*]+/, "", s)
	i = index(s, "["); if (i > 0) s = substr(s, 1, i - 1)
	slash = 0
	for (i = length(s); i > 0; i--) if (substr(s, i, 1) == "/") { slash = i; break }
	rest = substr(s, slash + 1)
	dot = index(rest, ".")
	if (dot == 0) return (slash == 0 ? "runtime" : s)
	return substr(s, 1, slash + dot - 1)
}
NF >= 4 && $3 != "U" && hex($1) < hex(bss) { name = $4; for (i = 5; i <= NF; i++) name = name " " $i; p = pkgof(name); sz[p] += $2; tot += $2 }
END { for (p in sz) printf "%d %s\n", sz[p], p; printf "%d\n", tot > "/dev/stderr" }
' 2>"$2.total" | sort -rn >"$2"
}
# group_sizes PKGSIZES: the same bytes by module / standard-library area.
group_sizes() {
	awk '
{ p = $2; g = "(other)"
  if (p ~ /^github\.com\/omadm-agent\/omadm-agent/ || p == "main") g = "omadm-agent (this project)"
  else if (p ~ /^github\.com\/godbus/) g = "godbus/dbus"
  else if (p ~ /^github\.com\/BurntSushi\/toml/) g = "BurntSushi/toml"
  else if (p ~ /^github\.com\/fsnotify/) g = "fsnotify"
  else if (p ~ /^github\.com\/coreos/) g = "coreos/go-systemd"
  else if (p ~ /^github\.com\/(warthog618|pkg\/errors)/) g = "warthog618/modem, sms (+ pkg/errors)"
  else if (p ~ /^go\.bug\.st\/serial/) g = "go.bug.st/serial"
  else if (p ~ /^golang\.org\/x\/sys/) g = "golang.org/x/sys"
  else if (p ~ /^(crypto|vendor\/golang\.org\/x\/crypto|math\/big)/) g = "std crypto/* + math/big (TLS, x509, fips140)"
  else if (p ~ /^(net\/http|vendor\/golang\.org\/x\/net\/http|mime|compress|net\/textproto|vendor\/golang\.org\/x\/(net\/idna|text))/) g = "std net/http (+ mime, compress, textproto, idna)"
  else if (p ~ /^net/) g = "std net, net/url, netip"
  else if (p ~ /^encoding\/(xml|json)/) g = "std encoding/xml + encoding/json"
  else if (p ~ /^(log|regexp|text)/) g = "std log/slog, regexp"
  else if (p ~ /^(runtime|internal|sync|syscall|reflect|os|io|time|unicode|strconv|strings|bytes|sort|errors|fmt|math|slices|maps|iter|bufio|context|path|flag|hash|container|weak|unique|structs|cmp|encoding)/) g = "std core (runtime, reflect, fmt, os, time, ...)"
  else if (p == "(tables)") g = "(funcdata, unnamed type descriptors)"
  s[g] += $1 }
END { for (g in s) printf "%d %s\n", s[g], g }' "$1" | sort -rn
}
show() { awk '{printf "  %10d  %6.2f MiB  %s\n", $1, $1/1048576, substr($0, index($0, " ") + 1)}'; }
armbuild() { # armbuild OUT PKG [go build flags...]
	local out=$1 pkg=$2
	shift 2
	GOOS=linux GOARCH=arm GOARM=7 CGO_ENABLED=0 go build -trimpath "$@" -o "$out" "$pkg"
}

hr "linux/arm: what the bytes are (unstripped build, go tool nm -size; sums of symbol sizes)"
armbuild "$WORK/arm-unstripped" ./agent/cmd/omadm-agent
readelf -SW "$WORK/arm-unstripped" | awk '
function hex(h,   i, v) { v = 0; for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(tolower(h), i, 1)) - 1; return v }
$2 ~ /^\./ {printf "  section %-20s %10d\n", $2, hex($6)} $3 ~ /^\./ {printf "  section %-20s %10d\n", $3, hex($7)}' |
	grep -E '\.(text|rodata|typelink|itablink|gopclntab|noptrdata|data|go\.buildinfo|gosymtab) ' || true
pkg_sizes "$WORK/arm-unstripped" "$WORK/pkgsizes.txt"
group_sizes "$WORK/pkgsizes.txt" >"$WORK/groups.txt"
say "symbol bytes in file-backed sections: $(cat "$WORK/pkgsizes.txt.total") ($(mib "$ARM_BYTES") stripped file)"
say "by module / area (symbol bytes; .gopclntab, the function table, comes on top roughly in proportion to code):"
show <"$WORK/groups.txt"
say "largest 25 packages:"
head -25 "$WORK/pkgsizes.txt" | show

hr "linux/arm: floors, alternatives, compressed sizes"
armbuild "$WORK/floor-nethttp" ./testdata/footprint/floor/nethttp -ldflags '-s -w'
armbuild "$WORK/floor-tlsonly" ./testdata/footprint/floor/tlsonly -ldflags '-s -w'
armbuild "$WORK/floor-nethttp-unstripped" ./testdata/footprint/floor/nethttp
armbuild "$WORK/arm-noinline" ./agent/cmd/omadm-agent -ldflags '-s -w' -gcflags=all=-l
FLOOR_NETHTTP=$(stat -c %s "$WORK/floor-nethttp")
FLOOR_TLS=$(stat -c %s "$WORK/floor-tlsonly")
printf '  %-62s %10d  %s\n' "floor: HTTPS POST via net/http + crypto/tls (floor/nethttp)" "$FLOOR_NETHTTP" "$(mib "$FLOOR_NETHTTP")"
printf '  %-62s %10d  %s\n' "floor: HTTPS POST by hand over crypto/tls (floor/tlsonly)" "$FLOOR_TLS" "$(mib "$FLOOR_TLS")"
printf '  %-62s %10d  %s\n' "omadm-agent-linux-arm as shipped (-s -w)" "$ARM_BYTES" "$(mib "$ARM_BYTES")"
printf '  %-62s %10d  %s\n' "omadm-agent-linux-arm with -gcflags=all=-l (no inlining)" "$(stat -c %s "$WORK/arm-noinline")" "$(mib "$(stat -c %s "$WORK/arm-noinline")")"
GZ=$(gzip -9c "$ARMBIN" | wc -c)
XZ=$(xz -9e -c "$ARMBIN" | wc -c)
XZB=$(xz -9e --block-size=262144 -c "$ARMBIN" | wc -c)
printf '  %-62s %10d  %s\n' "omadm-agent-linux-arm gzip -9 (.ipk/.deb payload)" "$GZ" "$(mib "$GZ")"
printf '  %-62s %10d  %s\n' "omadm-agent-linux-arm xz -9e (whole file)" "$XZ" "$(mib "$XZ")"
printf '  %-62s %10d  %s\n' "omadm-agent-linux-arm xz -9e, 256 KiB blocks (~ squashfs-xz flash)" "$XZB" "$(mib "$XZB")"
pkg_sizes "$WORK/floor-nethttp-unstripped" "$WORK/floor-pkgsizes.txt"
group_sizes "$WORK/floor-pkgsizes.txt" >"$WORK/floor-groups.txt"
say "what the agent adds on top of floor/nethttp, by area (symbol bytes, agent minus floor):"
awk 'NR == FNR { f[substr($0, index($0, " ") + 1)] = $1; next }
{ g = substr($0, index($0, " ") + 1); d = $1 - f[g]; if (d > 1024 || d < -1024) printf "%d %s\n", d, g }' \
	"$WORK/floor-groups.txt" "$WORK/groups.txt" | sort -rn | show
say "  (symbol bytes; the stripped files differ by $((ARM_BYTES - FLOOR_NETHTTP)) B, .gopclntab included)"

# ---------------------------------------------------------------- 2. scenario and account
SERVER_ID=footprint.example
CLIENT_USER=fp-device
CLIENT_PASS=fp-client-secret-not-real
CLIENT_NONCE=fp-client-nonce1
SERVER_PASS=fp-server-secret-not-real
SERVER_NONCE=fp-server-nonce1
DEVID=IMEI:490154203237518
hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

SCEN="$WORK/footprint-$N.dms"
gen_scenario() { # gen_scenario FILE N
	local f=$1 n=$2 i
	{
		say "# generated by testdata/footprint/measure.sh: three client-initiated sessions"
		say "name footprint-$n"
		say "description Session 1: Add ./Vendor/Footprint and $n leaves. Session 2: $n Replace. Session 3: $n Get."
		say "auth md5"
		say "server-cred md5"
		say "timeout 600s"
		say ""
		say "# ---- session 1: $((n + 1)) Add"
		say "recv"
		say "expect alert 1201"
		say "expect devinfo"
		say "expect cred md5"
		say "send <Add><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/Footprint</LocURI></Target><Meta><Format>node</Format></Meta></Item></Add>"
		for ((i = 0; i < n; i++)); do
			printf 'send <Add><CmdID>%d</CmdID><Item><Target><LocURI>./Vendor/Footprint/N%04d</LocURI></Target><Meta><Format>chr</Format><Type>text/plain</Type></Meta><Data>add-%04d-0123456789abcdef</Data></Item></Add>\n' $((i + 2)) "$i" "$i"
		done
		say "recv"
		say "expect status 1 200"
		say "expect status 2 200"
		say "expect status $((n + 1)) 200"
		say ""
		say "# ---- session 2: $n Replace"
		say "recv"
		say "expect alert 1201"
		for ((i = 0; i < n; i++)); do
			printf 'send <Replace><CmdID>%d</CmdID><Item><Target><LocURI>./Vendor/Footprint/N%04d</LocURI></Target><Meta><Format>chr</Format><Type>text/plain</Type></Meta><Data>rep-%04d-fedcba9876543210</Data></Item></Replace>\n' $((100000 + i)) "$i" "$i"
		done
		say "recv"
		say "expect status 100000 200"
		say "expect status $((100000 + n - 1)) 200"
		say ""
		say "# ---- session 3: $n Get"
		say "recv"
		say "expect alert 1201"
		for ((i = 0; i < n; i++)); do
			printf 'send <Get><CmdID>%d</CmdID><Item><Target><LocURI>./Vendor/Footprint/N%04d</LocURI></Target></Item></Get>\n' $((200000 + i)) "$i"
		done
		say "recv"
		say "expect status 200000 200"
		say "expect status $((200000 + n - 1)) 200"
		printf 'expect results ./Vendor/Footprint/N%04d = rep-%04d-fedcba9876543210\n' $((n - 1)) $((n - 1))
		say "end"
	} >"$f"
}
gen_scenario "$SCEN" "$N"
# Keep a copy of the 1,000-command scenario in the repository when asked:
# FOOTPRINT_SAVE_SCENARIO=1 writes testdata/footprint/footprint-N.dms.
if [[ ${FOOTPRINT_SAVE_SCENARIO:-0} == 1 ]]; then cp "$SCEN" "testdata/footprint/footprint-$N.dms"; fi

xmlesc() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' <<<"$1"; }
gen_bootstrap() { # gen_bootstrap FILE URL: DM bootstrap (SyncML DM 1.2 XML) of ./DMAcc/footprint
	local f=$1 url=$2 base=./DMAcc/footprint
	local node='<Meta><Format xmlns="syncml:metinf">node</Format></Meta>'
	local chr='<Meta><Format xmlns="syncml:metinf">chr</Format></Meta>'
	local b64='<Meta><Format xmlns="syncml:metinf">b64</Format></Meta>'
	{
		say '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>0</SessionID><MsgID>0</MsgID>'
		say "<Target><LocURI>$DEVID</LocURI></Target><Source><LocURI>$SERVER_ID</LocURI></Source></SyncHdr>"
		say "<SyncBody><Add><CmdID>1</CmdID>"
		say "<Item><Target><LocURI>$base</LocURI></Target>$node</Item>"
		say "<Item><Target><LocURI>$base/AppID</LocURI></Target>$chr<Data>w7</Data></Item>"
		say "<Item><Target><LocURI>$base/ServerID</LocURI></Target>$chr<Data>$SERVER_ID</Data></Item>"
		say "<Item><Target><LocURI>$base/Name</LocURI></Target>$chr<Data>footprint test server</Data></Item>"
		say "<Item><Target><LocURI>$base/AppAddr</LocURI></Target>$node</Item>"
		say "<Item><Target><LocURI>$base/AppAddr/1</LocURI></Target>$node</Item>"
		say "<Item><Target><LocURI>$base/AppAddr/1/Addr</LocURI></Target>$chr<Data>$(xmlesc "$url")</Data></Item>"
		say "<Item><Target><LocURI>$base/AppAddr/1/AddrType</LocURI></Target>$chr<Data>URI</Data></Item>"
		say "<Item><Target><LocURI>$base/AAuthPref</LocURI></Target>$chr<Data>DIGEST</Data></Item>"
		say "<Item><Target><LocURI>$base/AppAuth</LocURI></Target>$node</Item>"
		local name level user secret nonce
		for name in cl srv; do
			if [[ $name == cl ]]; then level=CLCRED user=$CLIENT_USER secret=$CLIENT_PASS nonce=$CLIENT_NONCE
			else level=SRVCRED user=$SERVER_ID secret=$SERVER_PASS nonce=$SERVER_NONCE; fi
			say "<Item><Target><LocURI>$base/AppAuth/$name</LocURI></Target>$node</Item>"
			say "<Item><Target><LocURI>$base/AppAuth/$name/AAuthLevel</LocURI></Target>$chr<Data>$level</Data></Item>"
			say "<Item><Target><LocURI>$base/AppAuth/$name/AAuthType</LocURI></Target>$chr<Data>DIGEST</Data></Item>"
			say "<Item><Target><LocURI>$base/AppAuth/$name/AAuthName</LocURI></Target>$chr<Data>$user</Data></Item>"
			say "<Item><Target><LocURI>$base/AppAuth/$name/AAuthSecret</LocURI></Target>$chr<Data>$secret</Data></Item>"
			say "<Item><Target><LocURI>$base/AppAuth/$name/AAuthData</LocURI></Target>$b64<Data>$(printf '%s' "$nonce" | base64 -w0)</Data></Item>"
		done
		say "</Add><Final/></SyncBody></SyncML>"
	} >"$f"
	chmod 600 "$f"
}

gen_config() { # gen_config FILE STATEDIR CAFILE BUS
	cat >"$1" <<EOF
# generated by testdata/footprint/measure.sh
[agent]
log_level = "info"
state_dir = "$2"
session_deadline = "5m"

[device]
dev_id = "$DEVID"
manufacturer = "omadm-agent project"
model = "footprint"
fw_version = "footprint-1.0"

[transport]
encoding = "wbxml"
ca_file = "$3"
connect_timeout = "5s"
request_timeout = "60s"
conn_retry_freq = 0

[dbus]
bus = "$4"
EOF
	chmod 600 "$1"
}

# start_server DIR: fpserver for $SCEN in the background; sets SRV_PID, SRV_URL.
start_server() {
	local d=$1
	mkdir -p "$d"
	"$WORK/fpserver" -scenario "$SCEN" -url-file "$d/url" -ca-file "$d/ca.pem" -report "$d/report.txt" \
		-server-id "$SERVER_ID" -client-user "$CLIENT_USER" -client-password "$CLIENT_PASS" \
		-client-nonce-hex "$(hexof "$CLIENT_NONCE")" -server-password "$SERVER_PASS" \
		-server-nonce-hex "$(hexof "$SERVER_NONCE")" >"$d/server.log" 2>&1 &
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	wait_for "[[ -s '$d/url' ]]" 20 "the test server's URL"
	SRV_URL=$(cat "$d/url")
}

# finish_server DIR: wait for the scenario verdict and print it.
finish_server() {
	local d=$1 rc=0
	wait "$SRV_PID" || rc=$?
	if ((rc == 0)); then
		say "  test server: $(tail -1 "$d/report.txt")"
	else
		say "  test server: scenario FAILED (exit $rc):"
		grep -E 'FAIL|WARN' "$d/report.txt" | head -20 | sed 's/^/    /' || true
		tail -3 "$d/server.log" | sed 's/^/    /' || true
	fi
	return $rc
}

# setup_account DIR BUS: config + state dir + bootstrap for the running server.
setup_account() {
	local d=$1
	mkdir -p "$d/state"
	chmod 700 "$d/state"
	gen_config "$d/agent.toml" "$d/state" "$d/ca.pem" "$2"
	gen_bootstrap "$d/bootstrap.xml" "$SRV_URL"
	"$AGENT" --config "$d/agent.toml" --state-dir "$d/state" bootstrap "$d/bootstrap.xml" >"$d/bootstrap.out"
}

SESSION_NAMES=("$((N + 1)) Add" "$N Replace" "$N Get")

# ---------------------------------------------------------------- 3. one-shot sessions
# oneshot LABEL [ENV=VALUE...]: the three sessions as omadm-agent session.
declare -A ONESHOT
oneshot() {
	local label=$1
	shift
	local d="$WORK/oneshot-$label" i kb
	start_server "$d"
	setup_account "$d" system
	hr "one-shot sessions ($label): omadm-agent session, peak RSS = /usr/bin/time -v maximum resident set size"
	for i in 0 1 2; do
		env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/no-bus" "$@" /usr/bin/time -v -o "$d/time$i.txt" \
			"$AGENT" --config "$d/agent.toml" --state-dir "$d/state" session >"$d/session$i.out" 2>&1 || {
			say "  session $((i + 1)) failed:"
			sed 's/^/    /' "$d/session$i.out"
			return 1
		}
		kb=$(awk -F': ' '/Maximum resident set size/{print $2}' "$d/time$i.txt")
		ONESHOT[$label,$i]=$kb
		printf '  session %d (%-11s): peak RSS %6d kB (%s), %s wall, %s user + %s sys CPU; %s\n' $((i + 1)) "${SESSION_NAMES[$i]}" "$kb" "$(kib2mib "$kb")" \
			"$(awk -F': ' '/Elapsed/{print $2}' "$d/time$i.txt")" "$(awk -F': ' '/User time/{print $2}' "$d/time$i.txt")" \
			"$(awk -F': ' '/System time/{print $2}' "$d/time$i.txt")" \
			"$(grep -m1 'messages:' "$d/session$i.out" | sed 's/^ *//')"
	done
	finish_server "$d" || FAILED+=("one-shot $label")
}
FAILED=()
oneshot default
if [[ ${FOOTPRINT_GCVARIANTS:-1} == 1 ]]; then
	oneshot gogc50 GOGC=50
	oneshot memlimit8 GOMEMLIMIT=8MiB
	oneshot gogc50-memlimit8 GOGC=50 GOMEMLIMIT=8MiB
fi

# ---------------------------------------------------------------- 4. daemon
# daemon LABEL BUS: start omadm-agent run; idle RSS; optional sessions.
daemon_start() { # daemon_start DIR BUS [env...]
	local d=$1 bus=$2
	shift 2
	env "$@" "$AGENT" --config "$d/agent.toml" --state-dir "$d/state" run >"$d/daemon.log" 2>&1 &
	DMN_PID=$!
	PIDS+=("$DMN_PID")
	wait_for "grep -q 'agent ready' '$d/daemon.log' 2>/dev/null" 30 "the daemon's \"agent ready\""
	sleep 3
}
daemon_stop() {
	kill -TERM "$DMN_PID"
	wait "$DMN_PID" || say "  daemon exited with $?"
}
rss_line() { # rss_line PID
	printf 'VmRSS %6d kB (%s), VmHWM %6d kB (%s), RssAnon %d kB, RssFile %d kB, threads %d' \
		"$(status_kb "$1" VmRSS)" "$(kib2mib "$(status_kb "$1" VmRSS)")" "$(status_kb "$1" VmHWM)" "$(kib2mib "$(status_kb "$1" VmHWM)")" \
		"$(status_kb "$1" RssAnon)" "$(status_kb "$1" RssFile)" "$(awk '$1=="Threads:"{print $2}' "/proc/$1/status")"
}

# refd PID: pages the process touched since the last "echo 1 >
# /proc/PID/clear_refs" (smaps Referenced), file-backed and anonymous.
refd() {
	awk '/^[0-9a-f]+-/ { anon = ($6 == "" || $6 ~ /^\[/) }
	/^Referenced:/ { if (anon) a += $2; else f += $2 }
	END { printf "touched: file %d kB + anon %d kB", f, a }' "/proc/$1/smaps"
}

# daemon_sessions LABEL [ENV=VALUE...]: the daemon without D-Bus; idle RSS,
# then the three sessions (SIGUSR1 each), then idle again 10 s later.
declare -A DAEMON
daemon_sessions() {
	local label=$1
	shift
	local D="$WORK/daemon-$label" i
	hr "daemon ($label) without D-Bus (no bus socket), no modem: omadm-agent run${*:+ with $*}"
	start_server "$D"
	setup_account "$D" system
	daemon_start "$D" system DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/no-bus" "$@"
	say "  idle, 3 s after ready (one account): $(rss_line "$DMN_PID")"
	DAEMON[$label,idle]=$(status_kb "$DMN_PID" VmRSS)
	echo 1 >"/proc/$DMN_PID/clear_refs"
	sleep 5
	say "  idle working set over the next 5 s: $(refd "$DMN_PID")"
	for i in 0 1 2; do
		echo 1 >"/proc/$DMN_PID/clear_refs"
		kill -USR1 "$DMN_PID"
		wait_for "(( \$(grep -c 'msg=\"session finished\" server_id=' '$D/daemon.log') >= $((i + 1)) ))" 300 "session $((i + 1)) of the daemon"
		say "  after session $((i + 1)) (${SESSION_NAMES[$i]}): $(rss_line "$DMN_PID")"
		say "    pages the session $(refd "$DMN_PID")"
		grep 'msg="session finished" server_id=' "$D/daemon.log" | tail -1 | grep -o 'commands=[0-9]* duration=[^ ]* result="[^"]*"' | sed 's/^/    /' || true
	done
	DAEMON[$label,hwm]=$(status_kb "$DMN_PID" VmHWM)
	sleep 10
	say "  idle again 10 s later: $(rss_line "$DMN_PID")"
	DAEMON[$label,after]=$(status_kb "$DMN_PID" VmRSS)
	daemon_stop
	finish_server "$D" || FAILED+=("daemon $label")
}
daemon_sessions default
DAEMON_IDLE_RSS=${DAEMON[default,idle]}
DAEMON_HWM=${DAEMON[default,hwm]}
if [[ ${FOOTPRINT_GCVARIANTS:-1} == 1 ]]; then
	daemon_sessions gogc50 GOGC=50
	daemon_sessions memlimit8 GOMEMLIMIT=8MiB
	daemon_sessions memlimit6 GOMEMLIMIT=6MiB
fi

hr "daemon with a private D-Bus (bus = \"session\"; control API exported), no modem"
D="$WORK/daemon-bus"
mkdir -p "$D"
dbus-daemon --session --nofork --nopidfile --address="unix:path=$D/bus" >"$D/dbus.log" 2>&1 &
BUS_PID=$!
PIDS+=("$BUS_PID")
wait_for "[[ -S '$D/bus' ]]" 10 "the private dbus-daemon"
start_server "$D"
setup_account "$D" session
daemon_start "$D" session DBUS_SESSION_BUS_ADDRESS="unix:path=$D/bus"
if grep -q 'D-Bus unavailable\|control API not available' "$D/daemon.log"; then say "  (warning: the daemon did not export its D-Bus API)"; fi
say "  idle, 3 s after ready (one account, D-Bus API): $(rss_line "$DMN_PID")"
DAEMON_BUS_IDLE_RSS=$(status_kb "$DMN_PID" VmRSS)
daemon_stop
kill "$SRV_PID" 2>/dev/null || true
wait "$SRV_PID" 2>/dev/null || true
kill "$BUS_PID" 2>/dev/null || true
wait "$BUS_PID" 2>/dev/null || true

# ---------------------------------------------------------------- 5. qemu-user
if [[ ${FOOTPRINT_QEMU:-1} == 1 ]] && command -v qemu-arm-static >/dev/null; then
	hr "linux/arm under qemu-arm-static"
	say "  version: $(qemu-arm-static "$ARMBIN" version)"
	D="$WORK/daemon-arm"
	mkdir -p "$D/state"
	chmod 700 "$D/state"
	cp "$WORK/daemon-default/ca.pem" "$D/ca.pem"
	gen_config "$D/agent.toml" "$D/state" "$D/ca.pem" system
	DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/no-bus" qemu-arm-static "$ARMBIN" --config "$D/agent.toml" --state-dir "$D/state" run >"$D/daemon.log" 2>&1 &
	DMN_PID=$!
	PIDS+=("$DMN_PID")
	wait_for "grep -q 'agent ready' '$D/daemon.log' 2>/dev/null" 60 "the arm daemon's \"agent ready\""
	sleep 3
	say "  idle daemon (no account) under qemu: $(rss_line "$DMN_PID")"
	say "  of which mappings of the arm binary (guest text, rodata, data): $(awk -v f="$ARMBIN" '/^[0-9a-f]+-/ { m = ($6 == f) } /^Rss:/ && m { r += $2 } END { print r }' "/proc/$DMN_PID/smaps") kB"
	say "  (this is qemu-user's RSS, emulator and translated code included; the guest's own"
	say "   heap is only part of it, so it is not a device figure)"
	daemon_stop
fi

# ---------------------------------------------------------------- summary
hr "summary against the targets"
verdict() { if (($1 <= $2)); then echo "met"; else echo "MISSED"; fi; }
PEAK_ONESHOT=$(printf '%s\n' "${ONESHOT[default,0]}" "${ONESHOT[default,1]}" "${ONESHOT[default,2]}" | sort -n | tail -1)
printf '  %-52s %-18s %-9s %s\n' "linux/arm stripped binary (target <= 6 MB = 6,000,000 B)" "$ARM_BYTES B" "$(mib "$ARM_BYTES" | cut -d' ' -f1) MiB" "$(verdict "$ARM_BYTES" 6000000)"
printf '  %-52s %-18s %-9s %s\n' "daemon idle RSS, amd64, no D-Bus (target <= 10 MB)" "$DAEMON_IDLE_RSS kB" "$(kib2mib "$DAEMON_IDLE_RSS")" "$(verdict "$DAEMON_IDLE_RSS" 10240)"
printf '  %-52s %-18s %-9s %s\n' "daemon idle RSS, amd64, D-Bus API (target <= 10 MB)" "$DAEMON_BUS_IDLE_RSS kB" "$(kib2mib "$DAEMON_BUS_IDLE_RSS")" "$(verdict "$DAEMON_BUS_IDLE_RSS" 10240)"
printf '  %-52s %-18s %-9s %s\n' "one-shot session peak RSS, $N-cmd sessions (<= 16 MB)" "$PEAK_ONESHOT kB" "$(kib2mib "$PEAK_ONESHOT")" "$(verdict "$PEAK_ONESHOT" 16384)"
printf '  %-52s %-18s %-9s %s\n' "daemon VmHWM after the 3 sessions (<= 16 MB)" "$DAEMON_HWM kB" "$(kib2mib "$DAEMON_HWM")" "$(verdict "$DAEMON_HWM" 16384)"
say "  (MB targets read as MiB for RSS; 1 MiB = 1024 kB)"
say ""
say "  GC settings (amd64; kB): one-shot peak of the 3 sessions | daemon idle, VmHWM, RSS 10 s after the sessions"
for v in default gogc50 memlimit8 gogc50-memlimit8 memlimit6; do
	o="-"
	if [[ -n ${ONESHOT[$v,0]:-} ]]; then o=$(printf '%s\n' "${ONESHOT[$v,0]}" "${ONESHOT[$v,1]}" "${ONESHOT[$v,2]}" | sort -n | tail -1); fi
	dm="-"
	if [[ -n ${DAEMON[$v,idle]:-} ]]; then dm="${DAEMON[$v,idle]} / ${DAEMON[$v,hwm]} / ${DAEMON[$v,after]}"; fi
	printf '  %-18s one-shot %-6s  daemon %s\n' "$v" "$o" "$dm"
done
if ((${#FAILED[@]} > 0)); then
	say "  FAILED scenario runs (figures above may not cover the whole session): ${FAILED[*]}"
	exit 1
fi
