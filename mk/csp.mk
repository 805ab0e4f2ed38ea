# D-Bus backed configuration service providers (owner: csp/hostname,
# csp/timedate helper). Included by the Makefile.
#
# Their tests (part of "go test ./...") start a private dbus-daemon and
# python3-dbusmock stand-ins for systemd-hostnamed and systemd-timedated
# (csp/dbusmockrun), run with /usr/bin/python3; csp/timedate checks zones
# against the system tzdata.
DEB_PKGS += python3-dbusmock dbus tzdata

.PHONY: test-csp
test-csp: ## race-enabled tests of the D-Bus providers against dbusmock (-race needs cgo/gcc)
	CGO_ENABLED=1 $(GO) test -count=1 -race ./csp/hostname/... ./csp/timedate/... ./csp/dbusmockrun/... ./csp/internal/...

test-extra: test-csp
