# csp/connmo (cellular connections over NetworkManager D-Bus). Included by
# the Makefile.
#
# Its tests start a private dbus-daemon and python3-dbusmock's
# "networkmanager" template (extended in the tests with real-NM Update /
# secrets behaviour and the Checkpoint* methods), run with /usr/bin/python3.
DEB_PKGS += python3-dbusmock dbus

.PHONY: test-connmo
test-connmo: ## race-enabled tests of csp/connmo against dbusmock's NetworkManager
	CGO_ENABLED=1 $(GO) test -count=1 -race ./csp/connmo/...

test-extra: test-connmo
