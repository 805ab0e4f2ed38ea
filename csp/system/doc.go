// Package system is the provider of ./Vendor/omadm/System, a vendor
// management object (MO identifier urn:omadm-agent:mo:system:1.0) for the
// device-level operations a DM server expects on a Linux gateway: reboot,
// optional power-off, and control of an allow-list of systemd units. It
// talks to systemd-logind, org.freedesktop.login1(5) (interface
// org.freedesktop.login1.Manager: CanReboot, CanPowerOff, Reboot(b),
// PowerOff(b)), and to the systemd manager, org.freedesktop.systemd1(5)
// (org.freedesktop.systemd1.Manager: GetUnit, LoadUnit, Subscribe,
// StartUnit, StopUnit, RestartUnit and the JobRemoved signal;
// org.freedesktop.systemd1.Unit: LoadState, ActiveState, SubState,
// UnitFileState), on the system bus. Reboot and PowerOff use the
// asynchronous Exec flow of OMA DM 1.2: 202 now, the result later as a
// Generic Alert 1226 carrying the Exec's Correlator (shared/docs
// protocol.md §5.6 and the FUMO Exec flow).
//
// DDF (OMA-TS-DM_TND-V1_2 §7; `omadm-agent ddf` prints it from Describe):
//
//	./Vendor/omadm/System     node  Get        One         Type urn:omadm-agent:mo:system:1.0
//	    Reboot                null  Get, Exec  One         reboot when the session ends (SessionEnded) or after Config.RebootDelay (202)
//	    PowerOff              null  Get, Exec  One         only with Config.PowerOff (202)
//	    BootID                chr   Get        One         /proc/sys/kernel/random/boot_id
//	    Uptime                int   Get        One         seconds since boot
//	    LastBoot              chr   Get        One         RFC 3339 UTC, wall clock minus uptime
//	    Services              node  Get        One
//	        <unit>            node  Get        ZeroOrMore  one per Config.Units entry, named by the unit
//	            LoadState, ActiveState, SubState, UnitFileState   chr   Get   (live unit properties)
//	            Start, Stop, Restart                              null  Get, Exec
//
// All nodes are Permanent; nothing can be added, replaced or deleted.
//
// Reboot and PowerOff: Exec asks logind Can<Op> (an absent logind is a
// *csp.BusError wrapping csp.ErrServiceUnavailable, 500, at once; "no" or
// "na" is 403), writes the marker StateFile in Config.StateDir (phase
// "scheduled", 0600, written atomically) and answers tree.ErrAsync (202).
// A provider goroutine then waits until SessionEndGrace after the agent
// calls SessionEnded (the session that ordered it is over and its statuses
// reached the server), or Config.RebootDelay at the latest, and calls <Op>(false)
// (interactive=false: the agent runs privileged, no polkit prompt). When
// logind accepts, the marker moves to "requested"; when it refuses, the
// outcome (500, Mark critical) is reported at once. New/Mount read the
// marker: if it was written in another boot (Config.BootID differs), the
// operation completed and Generic Alert AlertReboot / AlertPowerOff with
// Data "200" (Format int, Source and Correlator of the Exec) is reported
// through Config.Report; in the same boot (the agent restarted before the
// reboot) the result is 500. The report is retried every
// Config.ReportRetry and at Resume until Report returns nil, then the
// marker is kept in phase "reported" so it is sent exactly once.
//
// Maintenance windows (Config.Window, package csp/window): once the delay
// or grace is over, an operation due outside every window waits for the
// next one to open; the marker stays "scheduled" and records when
// (Marker.NotBefore). The wall clock is re-read every Config.WindowCheck,
// so a clock set late (NTP after boot) is followed. Close keeps such a
// marker, and New in the same boot resumes the wait; in another boot the
// operation counts as done (the device did restart) and 200 is reported.
//
// Guards: a second Reboot/PowerOff while one is scheduled or requested is
// 403. Loop guard: once the boot that followed a Reboot/PowerOff ordered
// here has been seen, another one is refused with 403 until the system has
// been up Config.MinUptime (default 10 minutes, measured by
// Config.Uptime, /proc/uptime, which does not depend on the wall clock).
// Close before the delay has passed cancels the operation and removes the
// marker: no reboot and no alert.
//
// Services: only the units in Config.Units exist under Services; any
// other name, valid or not (ValidUnitName), is 404 before any D-Bus call.
// Units in ProtectedUnits (the agent itself, D-Bus, logind, journald) are
// refused by New. Reading a property resolves the unit with GetUnit, or
// LoadUnit if it is not loaded; LoadState "not-found" is 404. Start, Stop
// and Restart call StartUnit/StopUnit/RestartUnit(name, "replace") and
// wait, at most Config.JobTimeout, for JobRemoved of the returned job:
// result "done" (or "skipped") is 200, any other result (failed, timeout,
// dependency, canceled) is a *JobError, 500; a job not finished in time is
// a *JobError with an empty Result, 500 ("it may still complete"). The
// wait happens inside the tree's lock, so JobTimeout should stay short.
//
// Errors: D-Bus failures are *csp.BusError with the D-Bus error name in
// the message: org.freedesktop.systemd1.NoSuchUnit maps to 404,
// org.freedesktop.systemd1.UnitMasked to 403, an absent service to
// csp.ErrServiceUnavailable, everything else to 500. Each call is bounded
// by Config.CallTimeout, so a missing or hung peer gives an error, never a
// hang.
//
// Goroutines: the provider owns at most one timer goroutine per scheduled
// Reboot/PowerOff (only one can be scheduled at a time) and one reporter
// goroutine while an alert is pending. Both end on Close, which cancels
// them and waits. Report is called from the reporter goroutine with a
// context cancelled by Close. Get and Exec are safe for concurrent use;
// the power state is guarded by a mutex.
package system
