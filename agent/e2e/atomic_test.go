package e2e

import (
	"testing"
)

// A server Atomic that sets the host name and the time zone through the
// D-Bus CSPs and then fails (a Replace of a leaf that does not exist) must
// leave hostnamed and timedated as they were: the agent rolls the two
// D-Bus writes back. Checked on the wire (507, 216 for the rolled-back
// commands), by the server reading the values back in the same session, and
// over D-Bus on the stand-ins after the session.
func TestAtomicRollsBackDBusWrites(t *testing.T) {
	w := start(t, "atomic-dbus", `
recv
expect alert 1200
expect sessionid 5E
send <Atomic><CmdID>10</CmdID>
  <Replace><CmdID>11</CmdID><Item><Target><LocURI>./Vendor/omadm/Hostname/StaticHostname</LocURI></Target><Meta><Format>chr</Format></Meta><Data>gw-atomic</Data></Item></Replace>
  <Replace><CmdID>12</CmdID><Item><Target><LocURI>./Vendor/omadm/Time/Timezone</LocURI></Target><Meta><Format>chr</Format></Meta><Data>Asia/Tokyo</Data></Item></Replace>
  <Replace><CmdID>13</CmdID><Item><Target><LocURI>./Vendor/omadm/Hostname/NoSuchLeaf</LocURI></Target><Meta><Format>chr</Format></Meta><Data>x</Data></Item></Replace>
</Atomic>
recv
expect status 10 507
expect status 11 216
expect status 12 216
expect status 13 4xx
send <Get><CmdID>20</CmdID><Item><Target><LocURI>./Vendor/omadm/Hostname/StaticHostname</LocURI></Target></Item></Get>
send <Get><CmdID>21</CmdID><Item><Target><LocURI>./Vendor/omadm/Time/Timezone</LocURI></Target></Item></Get>
recv
expect status 20 200
expect status 21 200
expect results ./Vendor/omadm/Hostname/StaticHostname = gw-factory
expect results ./Vendor/omadm/Time/Timezone = Etc/UTC
end
`)
	if got := w.state(); got != initialState {
		t.Fatalf("state before: got %s, want %s", got, initialState)
	}
	w.deliver(w.sms(w.notify(0x5E)))
	w.waitDone()
	if got := w.state(); got != initialState {
		t.Errorf("state after the failed Atomic: got %s, want %s (unchanged)", got, initialState)
	}
}

// The same session without the failing command commits: the writes reach
// the stand-ins. This is the control for the rollback test (the ACL grant,
// the CSP mounts and the D-Bus path all work).
func TestAtomicCommitsDBusWrites(t *testing.T) {
	w := start(t, "atomic-dbus-ok", `
recv
expect alert 1200
expect sessionid 5F
send <Atomic><CmdID>10</CmdID>
  <Replace><CmdID>11</CmdID><Item><Target><LocURI>./Vendor/omadm/Hostname/StaticHostname</LocURI></Target><Meta><Format>chr</Format></Meta><Data>gw-atomic</Data></Item></Replace>
  <Replace><CmdID>12</CmdID><Item><Target><LocURI>./Vendor/omadm/Time/Timezone</LocURI></Target><Meta><Format>chr</Format></Meta><Data>Asia/Tokyo</Data></Item></Replace>
</Atomic>
recv
expect status 10 200
expect status 11 200
expect status 12 200
end
`)
	w.deliver(w.sms(w.notify(0x5F)))
	w.waitDone()
	want := initialState
	want.Hostname, want.StaticHostname, want.Timezone = "gw-atomic", "gw-atomic", "Asia/Tokyo"
	if got := w.state(); got != want {
		t.Errorf("state after the Atomic: got %s, want %s", got, want)
	}
}
