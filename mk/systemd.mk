# systemd unit checks (owner: systemd/ helper). Included by the Makefile.

SYSTEMD_UNIT      := systemd/omadm-agent.service
SYSTEMD_MAX_SCORE ?= 3.0

.PHONY: test-systemd
test-systemd: ## systemd-analyze verify (must print nothing) and security score (<= 3.0) of the unit
	sh systemd/check-unit.sh $(SYSTEMD_UNIT) $(SYSTEMD_MAX_SCORE)

test-extra: test-systemd

# The D-Bus policy tests (packaging/dbus, run by "go test ./...") use
# dbus-daemon and dbus-send (package dbus) and gdbus.
DEB_PKGS += libglib2.0-bin
