# modem: WAP push over SMS from a serial AT modem (owner: modem helper).
DEB_PKGS += python3-gammu socat qemu-user-static

# python3-gammu's PDUs, cached by the native test run (test-go) and read by
# the qemu-user run, so the emulated test binary does not fork python3
# (modemtest.GammuCacheEnv; qemu-user can deadlock in such a fork).
export OMADM_GAMMU_CACHE ?= $(CURDIR)/.cache/gammu

.PHONY: test-modem-qemu
# Under qemu: the AT/SMS/WSP code (modem, modem/wappush). modem/mm (a D-Bus
# client of ModemManager) runs natively only: its tests start dbus-daemon and
# ModemManager, forks of the emulated test binary that qemu-user can deadlock
# in, for no arch-specific code.
test-modem-qemu: ## run the modem tests (pty fake modem, gammu PDUs) under qemu-user for arm
	GOARCH=arm GOARM=7 CGO_ENABLED=0 $(GO) test -count=1 -exec qemu-arm-static ./modem/ ./modem/wappush/...

test-extra: test-modem-qemu
