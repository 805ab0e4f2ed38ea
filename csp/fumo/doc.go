// Package fumo is the provider of the firmware update management object,
// OMA FUMO 1.0 (OMA-TS-DM-FUMO-V1_0, MO identifier urn:oma:mo:oma-fumo:1.0),
// backed by RAUC over D-Bus: the interface de.pengutronix.rauc.Installer
// of rauc-service 1.8 (/usr/share/dbus-1/interfaces/
// de.pengutronix.rauc.Installer.xml): InstallBundle(s source, a{sv} args),
// Info(s) → (compatible, version), GetSlotStatus() → a(sa{sv}),
// Mark(s state, s slot) → (slot name, message), the properties Operation, Progress (isi), LastError and BootSlot, and the
// signal Completed(i).
//
// Spec sections (protocol.md §6.9, §5.6): FUMO §5 and §10.1 (figure 10.1)
// for the nodes and the DDF, FUMO §6 for the State values and the Exec
// semantics, FUMO §6.2 / §10.1 for the result codes, and DM Protocol
// §8.7 / §2.3.7 for the Generic Alert 1226 that carries them; OMA
// Generic Content Download Over The Air 1.0 (OMA-Download-OTA-V1_0,
// "DLOTA") for a PkgURL that points at a download descriptor: its
// Download Descriptor section (the <media> document, media type
// application/vnd.oma.dd+xml) and its installation status report (the
// 9xx codes POSTed to installNotifyURI).
//
// Tree (Mount at Config.Root, default ./FUMO; the one instance <x> is
// Config.Instance, default "1", created at mount and permanent):
//
//	./FUMO                        node  Get
//	./FUMO/1                      node  Get      Type urn:oma:mo:oma-fumo:1.0
//	    PkgName                   chr   Get      bundle compatible (RAUC Info), after a download
//	    PkgVersion                chr   Get      bundle version (RAUC Info)
//	    Download/                 node  Exec Get  Exec: download PkgURL
//	    Download/PkgURL           chr   Get Replace
//	    Update/                   node  Exec Get  Exec: install the package on the device
//	    Update/PkgData            bin   Replace  the package delivered through DM (large object)
//	    DownloadAndUpdate/        node  Exec Get  Exec: download, then install
//	    DownloadAndUpdate/PkgURL  chr   Get Replace
//	    State                     int   Get      10 ... 100 (State)
//	    Ext/Progress              int   Get      percent of the current phase (download bytes, RAUC Progress)
//	    Ext/Message               chr   Get      last progress message or error
//	    Ext/SlotGood              chr   Get      "true" RAUC marked the updated slot good,
//	                                             "false" not yet or failed, "" nothing to mark
//	    Ext/RebootAt              chr   Get      when the reboot waits for (RFC 3339 UTC,
//	                                             Job.NotBefore), "" when nothing waits
//
// Exec returns tree.ErrAsync (202) at once and the job runs in the
// provider's goroutine; a second Exec (or a PkgData Replace) while a job
// runs or its result is not yet reported is ErrBusy, 403; Update with no
// package is ErrNoPackage, 403; Exec on any other node is 405. The result
// is reported once through Config.Report as a Generic Alert 1226: Type
// org.openmobilealliance.dm.firmwareupdate.download / .update /
// .downloadandupdate, Format int, Source the executed node (e.g.
// ./FUMO/1/DownloadAndUpdate, the URI agent/outbox.Expect records, so the
// alert finds the server that issued the Exec even without Correlator;
// protocol.md §6.9 names the <x> node instead — a deliberate choice),
// Correlator from the Exec, Data the result code, Mark "critical" on
// failure and none (informational) on success.
//
// States and results:
//
//	Download           30 → 40 and 200 after RAUC Info read the bundle; 20 on failure
//	Update             50 → 60 (InstallBundle) → reboot (in Config.Window) → 100 and 200; 70/80 on failure
//	DownloadAndUpdate  30 → 40 → 50 → 60 → reboot (in Config.Window) → 100 and 200
//	download failures  411 bad/empty/non-https URL (PkgURL or a DD's objectURI),
//	                   HTTP 404/410, unknown host;
//	                   406 HTTP 401/403/407 or an untrusted TLS certificate;
//	                   407 time-out; 412 HTTP 502/503; 500 other HTTP errors;
//	                   501 larger than Config.MaxSize, not enough free space, or a
//	                   write error, or a DD size above it; 503 connection failures
//	                   after Config.Retries resumed attempts; 402 a Download RAUC
//	                   Info cannot read, or an object whose length is not the DD
//	                   size; 405 an invalid DD (906/951) or an object whose
//	                   Content-Type is not the DD's type
//	install failures   404 signature ("signature verification failed"), 402 bad
//	                   bundle ("Invalid bundle format"), 403 "Compatible mismatch"
//	                   (these three drop the package: State 80); 502 no space;
//	                   410 anything else, RAUC absent (csp.ErrServiceUnavailable),
//	                   or a reboot that did not come up in the new slot (State 70
//	                   while the package is kept)
//
// Success after the reboot: the install records the slot RAUC wrote (the
// non-booted slot whose bundle.version is the bundle's, newest
// installed.timestamp, from GetSlotStatus) and the boot id
// (/proc/sys/kernel/random/boot_id, Config.BootID). When the boot id has
// changed, the update succeeded iff RAUC's BootSlot property is that slot
// and GetSlotStatus gives the booted slot the bundle's version. Chosen
// because it needs nothing but RAUC: BootSlot is what the bootloader
// actually booted (a fallback to the old slot shows as failure 410), and
// the version check guards against a slot rewritten by someone else. With
// the same boot id (the agent restarted, the device did not) the job keeps
// waiting; Config.Reboot, if set, is called once per process to reboot.
//
// Maintenance windows (Config.Window, package csp/window; no OMA
// specification defines them, see csp/window): installing into RAUC's
// inactive slot does not disturb the gateway, the reboot does, so only
// the call of Config.Reboot waits; download and install never do. When
// the install completes outside every window, the job stays installed
// (phase installed, State 60 Update Progressing as for any install
// waiting for its reboot: no new State value), Job.NotBefore (persisted,
// Ext/RebootAt, Status.RebootAt) is the window's next opening, and the
// window goroutine re-reads the clock (Config.Now) every
// Config.WindowCheck (default one minute, so a clock set late by NTP is
// followed: NotBefore is recomputed and saved again; a jump over the
// whole window waits for the next one) and calls Reboot once the window
// is open, clearing NotBefore first. Close stops the wait without
// touching the state file; the next Resume in the same boot waits again
// (or reboots at once if the window is open by then); in a new boot (the
// device was rebooted by something else) the post-reboot check above
// runs and reports as always. With Config.Reboot nil nothing waits and
// no NotBefore is recorded. A second Exec (or PkgData Replace) while the
// reboot waits is ErrBusy, 403, like any unreported job: in FUMO's state
// machine State 60 (Update Progressing) accepts no Download, Update or
// DownloadAndUpdate until the update's result is decided and reported.
//
// Marking the slot good (Config.MarkGood, TOML [fumo] mark_good, parsed by
// ParseMarkGood): bootloaders that count boot attempts fall back to the
// old slot unless the new one is marked good. "none" (MarkGoodNone, the
// default) never calls Mark: the system's health check does it
// (rauc-mark-good or similar). "after-report" (MarkGoodAfterReport): once
// the success alert of the job was reported (Report returned nil) the mark
// is pending; at the next SessionEnded(true) (a DM session ended
// successfully), and only if Config.Delivered, when set, says the alert
// reached its server, the provider's marker goroutine checks that RAUC's
// BootSlot is still the updated slot and calls Mark("good", "booted").
// Without Delivered any successful session end after the report counts,
// even one that started before the alert was queued or was with another
// server: set Delivered (the alert left the outbox) to tie the mark to
// the delivery.
// "on-boot" (MarkGoodOnBoot): the worker does the same right after the
// post-reboot check succeeded, before the report. A failed update (410 or
// any other failure, a fallback to the old slot) is never marked, nor is
// a slot that is no longer the booted one when the mark is due
// (ErrNotBooted, given up at once). A Mark error is recorded
// (Ext/SlotGood "false", Ext/Message, Status.MarkError, Config.OnMark for
// the caller to log) and retried at each later SessionEnded(true)
// (on-boot: also at Resume) until Config.MarkTries calls failed (default
// 5), then given up (MarkFailed). The mark record (SlotMark) is persisted
// in the state file with the job's transitions, so a restart between the
// report and the mark marks after the restart. Mark runs at most once per
// job, save for a crash between RAUC's Mark returning and the state file
// being written (marking again is harmless). The record outlives its job:
// an Exec in the session that delivers the alert does not cancel the mark.
// With "none", a record left pending by an earlier configuration stays
// pending and is not marked.
//
// Persistence (mender-style state types, architecture.md §3.3): the job's
// phase (download, verify, install, installed, report, done) is persisted
// in Config.Dir/fumo.json (0600, atomic rename; key index in persist.go)
// before each next phase runs; the package is Config.Dir/package.raucb
// (0600), streamed through package.raucb.part. Resume continues whatever
// the file holds: a partial download resumes with Range (and If-Range with
// the strong ETag or Last-Modified), an interrupted install waits for RAUC
// to be idle and installs again, an installed job is decided as above, and
// a decided result is reported. A result is reported at least once:
// exactly once save for a crash between Report returning and the state
// file being written. Report errors are retried every Config.ReportRetry.
//
// Errors: D-Bus failures are *csp.BusError values (with the D-Bus error
// name; RAUC absent wraps csp.ErrServiceUnavailable) inside a *JobError
// carrying the FUMO result code; the text lands in Ext/Message and the
// job's Detail (Status). Every D-Bus call is bounded by Config.CallTimeout
// and an install by Config.InstallTimeout, so a missing or hung RAUC
// gives an error, not a hang. The package never logs.
//
// Download descriptors (DLOTA 1.0, dd.go, notify.go): when the answer to
// PkgURL (a 200, before any descriptor is known for the job) has
// Content-Type application/vnd.oma.dd+xml, or its first 512 bytes are an
// XML document (declaration or <media>) naming the namespace
// http://www.openmobilealliance.org/xmlns/dd, it is read (at most
// MaxDDSize, 64 KiB) and parsed strictly by ParseDD: root <media> in that
// namespace (or none), exactly one objectURI and one size (decimal, > 0),
// one or more type (DLOTA allows several; a media type each), at most one
// of each other DLOTA element, no DTD, UTF-8 or US-ASCII; unknown
// elements are ignored as DLOTA asks; a DDVersion whose major number is
// not 1 is refused (951). objectURI and installNotifyURI are resolved
// against the descriptor's URL (after redirects); objectURI must be https
// (411 otherwise); nextURL, infoURL, iconURI and installParam are not
// used (no browser, no UI). A size above Config.MaxSize fails (501)
// before the object is requested. The object is then downloaded like a
// direct package (Range resume, If-Range, MaxSize, free space), and must
// match the descriptor (905 Attribute mismatch): a Content-Length or
// Content-Range total, or a completed body, different from size fails
// (402), and so does a Content-Type that is neither absent, a generic
// application/octet-stream (binary/octet-stream) nor one of the
// descriptor's types (media type only, parameters ignored: 405). The
// descriptor (resolved URIs, size, types) is persisted in job.dd before
// the object is requested, so a restart resumes the object without
// fetching the descriptor again.
//
// Install notification: when the descriptor has an installNotifyURI,
// the job's DLOTA status is POSTed to it once per job as the body
// "<code> <text>" (text/plain): for Download when the result is decided
// (900 after RAUC Info read the bundle or RAUC is absent), for
// DownloadAndUpdate when RAUC has written the slot (900, sent before the
// reboot: DLOTA's installation is the object reaching its installer; the
// reboot check is FUMO's business and only in the 1226) or when the job
// failed before that. Failure codes: 906 invalid descriptor, 951 invalid
// DDVersion, 905 attribute mismatch, 901 no space or above MaxSize, 903
// network failure or time-out, 954 other HTTP errors on the object
// (Loader Error), 953 RAUC refused the bundle (402/403/404: Non-Acceptable
// Content), 952 other install failures (Device Aborted); 902 is never
// sent (no user). A malformed descriptor's installNotifyURI is still used
// when it was read before the problem. The POST is made by the notifier
// goroutine with the download's TLS configuration (verification on, no
// redirects followed), bounded by Config.NotifyTimeout, retried
// Config.NotifyRetry apart until a 2xx or Config.NotifyTries attempts
// (counted in the state file, across restarts; then NotifyFailed). It
// never blocks nor fails the job: the Generic Alert 1226 is the
// authoritative result. An installNotifyURI that is not https is not
// contacted (NotifyFailed at once, Status.NotifyError says why). The
// record (InstallNotify, key "notify") outlives its job until a later
// job's notification replaces it.
//
// TLS: downloads verify the server certificate (Config.TLS, Config.CAFile
// or the system roots); InsecureSkipVerify is refused; only https URLs
// are accepted.
//
// Goroutines: the provider owns at most one worker goroutine, started by
// Exec or Resume, which runs the job's phases and calls Config.Report,
// Config.Reboot and (on-boot) Mark. It ends when the job is reported, when
// it waits for the reboot, or when Close cancels it. While a reboot
// waits for the maintenance window it owns the window goroutine, started
// by the worker after it saved Job.NotBefore, which saves NotBefore
// changes and calls Config.Reboot; it ends after that call, when the job
// changes, or when Close cancels it. Wait does not wait for it. It also
// owns at most one marker goroutine, started by SessionEnded (or Resume, on-boot),
// which calls Config.Delivered, Mark and Config.OnMark and ends after one
// attempt. It owns at most one notifier goroutine, started after the
// worker saved a pending install notification (or by Resume), which
// POSTs it and saves the outcome; Wait waits for it too. Close cancels
// all four and waits for them (csp.Wait, bounded
// by its ctx). Get, Replace, Exec and SessionEnded are safe for concurrent use
// (one mutex); SessionEnded never blocks.
package fumo
