#!/bin/sh
# check-deb.sh DEB PKG_VERSION BIN_VERSION: checks the amd64 .deb built by
# "make test-package" with dpkg-deb: files, modes, owners, conffiles,
# control fields, maintainer scripts, and that the packaged files are the
# ones in the repository. Prints what it checked; exits 1 on any mismatch.
set -eu
deb=${1:?usage: check-deb.sh DEB PKG_VERSION BIN_VERSION}
pkgver=${2:?}
binver=${3:?}
command -v dpkg-deb >/dev/null || { echo "dpkg-deb missing: run \`make deps\`" >&2; exit 1; }
[ -f "$deb" ] || { echo "FAIL: $deb was not built" >&2; exit 1; }

fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# 1. Contents: "mode owner path" for every entry, directories as path/.
dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }' | sort -k3 >"$tmp/contents"
cat >"$tmp/want" <<'LIST'
-rwxr-xr-x root/root ./usr/bin/omadm-agent
-rw-r--r-- root/root ./lib/systemd/system/omadm-agent.service
-rw-r--r-- root/root ./usr/share/dbus-1/system.d/org.omadm.Agent1.conf
-rw-r--r-- root/root ./usr/share/dbus-1/interfaces/org.omadm.Agent1.xml
-rw-r--r-- root/root ./etc/omadm-agent/agent.toml
drwxr-xr-x root/root ./etc/omadm-agent/conf.d/
drwx------ root/root ./var/lib/omadm-agent/
-rw-r--r-- root/root ./usr/share/doc/omadm-agent/examples/70-omadm-agent-modem.rules
-rw-r--r-- root/root ./usr/share/doc/omadm-agent/README.md
LIST
while read -r mode owner path; do
	grep -qxF -e "$mode $owner $path" "$tmp/contents" || bad "missing or wrong mode/owner: $mode $owner $path"
done <"$tmp/want"
# Anything else must be a parent directory, root-owned, not writable by others.
awk '{ print $3 }' "$tmp/want" >"$tmp/wantpaths"
while read -r mode owner path; do
	grep -qxF -e "$path" "$tmp/wantpaths" && continue
	case "$mode" in
	d????-??-?) [ "$owner" = root/root ] || bad "directory $path owned by $owner" ;;
	*) bad "unexpected entry: $mode $owner $path" ;;
	esac
done <"$tmp/contents"
echo "contents: $(wc -l <"$tmp/contents") entries, the 9 expected files/dirs with their modes, nothing else"

# 2. Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = omadm-agent ] || bad "Package: $(field Package)"
[ "$(field Version)" = "$pkgver" ] || bad "Version: $(field Version), want $pkgver"
[ "$(field Architecture)" = amd64 ] || bad "Architecture: $(field Architecture)"
[ -n "$(field Maintainer)" ] || bad "no Maintainer"
[ -n "$(field Description)" ] || bad "no Description"
[ "$(field Section)" = admin ] || bad "Section: $(field Section)"
[ -z "$(field Depends)" ] || bad "unexpected Depends: $(field Depends) (the binary is static)"
echo "control: Package=$(field Package) Version=$(field Version) Architecture=$(field Architecture) Installed-Size=$(field Installed-Size)"

# 3. Conffiles and maintainer scripts.
mkdir "$tmp/control" "$tmp/root"
dpkg-deb -e "$deb" "$tmp/control"
printf '/etc/omadm-agent/agent.toml\n' | cmp -s - "$tmp/control/conffiles" || bad "conffiles: $(cat "$tmp/control/conffiles" 2>/dev/null)"
for s in postinst prerm postrm; do
	[ -x "$tmp/control/$s" ] || bad "no executable $s"
done
grep -q 'groupadd --system omadm' "$tmp/control/postinst" || bad "postinst does not create group omadm"
grep -q 'systemctl daemon-reload' "$tmp/control/postinst" || bad "postinst does not reload systemd"
grep -q 'disable --now omadm-agent.service' "$tmp/control/prerm" || bad "prerm does not stop the service"
echo "control files: conffiles = /etc/omadm-agent/agent.toml; postinst, prerm, postrm present"

# 4. The packaged files are the repository's, and the binary runs.
dpkg-deb -x "$deb" "$tmp/root"
for pair in \
	etc/omadm-agent/agent.toml:packaging/agent.toml \
	lib/systemd/system/omadm-agent.service:systemd/omadm-agent.service \
	usr/share/dbus-1/system.d/org.omadm.Agent1.conf:packaging/dbus/org.omadm.Agent1.conf \
	usr/share/dbus-1/interfaces/org.omadm.Agent1.xml:packaging/dbus/org.omadm.Agent1.xml; do
	cmp -s "$tmp/root/${pair%%:*}" "${pair#*:}" || bad "${pair%%:*} differs from ${pair#*:}"
done
out=$("$tmp/root/usr/bin/omadm-agent" version 2>&1) || bad "packaged binary failed: $out"
case "$out" in
"omadm-agent $binver "*) ;;
*) bad "packaged binary says '$out', want 'omadm-agent $binver ...'" ;;
esac
echo "binary: $out"

[ "$fail" = 0 ] || exit 1
echo "OK: $deb ($(wc -c <"$deb") bytes)"
