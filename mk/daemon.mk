# The daemon (owner: agent/ daemon helper). Included by the Makefile.
#
# The tests of agent/dbusapi and agent/cmd/omadm-agent (TestStatusRunning,
# TestAPIEndToEnd) start a private dbus-daemon and call it with busctl
# (systemd) and dbus-send (dbus); they fail with "run `make deps`" when
# these are missing. The NOTIFY_SOCKET and spool tests need nothing extra.
# TestJournaldReal (agent/cmd/omadm-agent) runs a real systemd-journald in
# a private mount namespace (unshare from util-linux; root, as in CI).
DEB_PKGS += dbus systemd util-linux

.PHONY: test-daemon
test-daemon: ## daemon tests: agent core, sd_notify/watchdog, D-Bus API on a private bus, run/status
	$(GO) test -race ./agent/ ./agent/sdnotify/ ./agent/dbusapi/...
	$(GO) test -race -run 'TestRun|TestStatus|TestCLISession|TestJournald|TestDaemonLogs|TestDependency|TestNoCgo' ./agent/cmd/omadm-agent/
