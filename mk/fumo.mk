# FUMO over RAUC (owner: csp/fumo helper). Included by the Makefile.
#
# csp/fumo's tests (part of "go test ./...") run the REAL RAUC service
# (rauc + rauc-service 1.8) on a private system-like dbus-daemon, build a
# self-signed keyring with openssl and format=plain bundles with
# `rauc bundle` (mksquashfs from squashfs-tools). They need root, loop
# devices and squashfs mounts; they fail with "run `make deps`" when a peer
# is missing.
DEB_PKGS += rauc rauc-service squashfs-tools openssl dbus

.PHONY: test-fumo
test-fumo: ## FUMO provider against the real RAUC service, with -race (needs cgo/gcc)
	CGO_ENABLED=1 $(GO) test -count=1 -race ./csp/fumo/...

test-extra: test-fumo
