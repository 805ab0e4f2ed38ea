// Package bench holds the in-process end-to-end benchmark of the push path
// of omadm-agent: the time from a "+CMTI" line on the modem's AT port to
// the first HTTPS request of the server-initiated DM session it triggers
// (target ≤ 20 ms; OMA-TS-DM_Notification-V1_2 §6, protocol.md §8 step 1,
// architecture.md §3.4).
//
// Unlike agent/e2e, which builds and runs the real daemon binary, the parts
// run in the benchmark's process, wired as `omadm-agent run` wires them
// (agent/cmd/omadm-agent/cmd_run.go): modem.Open and Modem.Serve delivering
// to Agent.HandlePush (the push router verifies the Package #0 digest and
// applies the replay and rate checks, the agent queue starts the session),
// the real session engine (agent/session) on a device tree
// (agent/device.OpenTree) bootstrapped with a DM account
// (agent/bootstrap.Apply), over TLS to a loopback httptest server that
// answers a minimal, authenticated Package 2. The only fake is the modem:
// modem/modemtest on a pty, speaking the wire format of a real one; the
// SMS-DELIVER PDUs are encoded by python3-gammu before timing starts.
//
// Invariants: one push and one session at a time (each iteration waits until
// the session ended and the SMS was deleted); every Package #0 has its own
// session id, so the replay check never drops one; the push rate limit is
// raised for the benchmark. Every goroutine and the fake modem are stopped
// by the benchmark's cleanups.
//
// The package has only tests (and this file).
package bench
