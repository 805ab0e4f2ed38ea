# modem/mm (WAP pushes through ModemManager's D-Bus API), its test harness
# modem/mm/mmtest and csp/modemstatus (./Vendor/omadm/Modem from ModemManager). Included by the Makefile.
#
# The tests start a private dbus-daemon, the REAL ModemManager in test mode
# (--test-session --test-no-udev --test-no-suspend-resume --test-enable) and
# a Go fake AT modem on a unix socket; the SMS-DELIVER PDUs are encoded with
# python3-gammu (modem/modemtest).
DEB_PKGS += modemmanager python3-gammu dbus

.PHONY: test-mm
test-mm: ## tests of modem/mm and csp/modemstatus against a real ModemManager in test mode
	$(GO) test -count=1 ./modem/mm/... ./csp/modemstatus/...

# (test-mm is not in test-extra: go test ./... already runs these packages)
