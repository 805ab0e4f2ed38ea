# Footprint measurement (owner: footprint helper). Included by the Makefile.
#
# make footprint   builds bin/omadm-agent, the cross binaries and the test
#                  server, prints binary sizes (and what they are made of),
#                  the daemon's idle RSS and the peak RSS of 1,000-command
#                  sessions (one-shot and daemon, with GOGC/GOMEMLIMIT
#                  variants). Takes about 3 minutes on 2 cores. Results and
#                  method: testdata/footprint/RESULTS.md. Not part of make test.
#
# /usr/bin/time -v gives the one-shot sessions' peak RSS; xz for the
# compressed sizes; dbus-daemon for the idle figure with the D-Bus API;
# qemu-user-static for the linux/arm runs.
DEB_PKGS += time xz-utils dbus qemu-user-static

.PHONY: footprint
footprint: deps ## measure binary sizes, idle and peak RSS (testdata/footprint/measure.sh)
	bash testdata/footprint/measure.sh

.PHONY: test-footprint-guard
test-footprint-guard: ## the size guards on the linux/arm binary (testdata/footprint/guard.sh)
	bash testdata/footprint/guard.sh
test-extra: test-footprint-guard
