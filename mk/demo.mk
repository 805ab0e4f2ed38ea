# make demo: the end-to-end demonstration (agent/cmd/omadm-demo). It builds
# the agent and the demo driver, then runs the real daemon against the
# in-repository DM test server, a fake modem on a pty and D-Bus stand-ins on
# a private bus. Expected output: testdata/demo/README.md.
# make test-e2e: only the cross-package end-to-end tests (agent/e2e); make
# test runs them too, as part of go test ./... (test-go).

DEMO_BIN := bin/omadm-demo
# The peers of the demo and of agent/e2e: dbus-daemon, the hostnamed/timedated
# stand-ins, the SMS PDU encoder, and the zone database the timedate CSP
# validates against.
DEB_PKGS += dbus python3-dbusmock python3-gammu tzdata

demo: deps build ## run the end-to-end demo (SMS push -> DM session over HTTPS -> D-Bus), ~5 s
	$(GO) build -trimpath -o $(DEMO_BIN) ./agent/cmd/omadm-demo
	$(DEMO_BIN) -agent $(BIN) -scenario testdata/demo/demo.dms

.PHONY: test-e2e
test-e2e: ## end-to-end tests: the real omadm-agent process with SMS, HTTPS and D-Bus peers
	$(GO) test -count=1 -timeout 5m ./agent/e2e/...
