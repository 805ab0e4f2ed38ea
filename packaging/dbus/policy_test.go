package dbus_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"
)

const (
	policyFile = "org.omadm.Agent1.conf"
	xmlFile    = "org.omadm.Agent1.xml"
	busName    = "org.omadm.Agent1"
	objPath    = "/org/omadm/Agent1"
	iface      = "org.omadm.Agent1"
	// The group the policy names, and the stand-in used when the host has
	// no such group: "daemon" exists on Debian, with user daemon (uid 1)
	// as its primary member.
	controlGroup  = "omadm"
	standInGroup  = "daemon"
	standInMember = "daemon"
)

// busConf is a system-like bus: deny by default, as Debian's
// /usr/share/dbus-1/system.conf, plus the policy under test.
const busConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>%s</include>
</busconfig>
`

// bus is a private dbus-daemon started by a test.
type bus struct {
	addr   string
	dir    string
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func need(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s not found: run `make deps` (packages dbus, libglib2.0-bin)", p)
		}
	}
}

// startBus starts dbus-daemon with the given policy file in a directory
// that other users can reach, and stops it (by PID) when the test ends.
func startBus(t *testing.T, policy string) *bus {
	t.Helper()
	need(t, "dbus-daemon")
	dir, err := os.MkdirTemp("", "omadm-dbus-policy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "system_bus_socket")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConf, sock, policy), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGTERM)
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
	}()
	select {
	case addr, ok := <-line:
		if !ok || addr == "" {
			cmd.Wait()
			t.Fatalf("dbus-daemon did not start; stderr:\n%s", stderr.String())
		}
		return &bus{addr: addr, dir: dir, stderr: stderr}
	case <-time.After(10 * time.Second):
		t.Fatalf("dbus-daemon printed no address within 10s; stderr:\n%s", stderr.String())
	}
	return nil
}

func readContract(t *testing.T) introspect.Node {
	t.Helper()
	b, err := os.ReadFile(xmlFile)
	if err != nil {
		t.Fatal(err)
	}
	var n introspect.Node
	if err := xml.Unmarshal(b, &n); err != nil {
		t.Fatalf("%s: %v", xmlFile, err)
	}
	return n
}

func contractInterface(t *testing.T, n introspect.Node) introspect.Interface {
	t.Helper()
	for _, i := range n.Interfaces {
		if i.Name == iface {
			return i
		}
	}
	t.Fatalf("%s has no interface %s", xmlFile, iface)
	return introspect.Interface{}
}

// TestPolicyLoads: dbus-daemon accepts the shipped policy as it is (also
// where the "omadm" group does not exist yet) with no complaint about it,
// and root may own the name.
func TestPolicyLoads(t *testing.T) {
	abs, err := filepath.Abs(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	b := startBus(t, abs)
	conn, err := dbus.Connect(b.addr)
	if err != nil {
		t.Fatalf("connect to the bus: %v", err)
	}
	defer conn.Close()
	reply, err := conn.RequestName(busName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("root RequestName(%s) = %v, %v; want primary owner", busName, reply, err)
	}
	// Two messages are about the host, not the policy: as root without
	// CAP_SYS_RESOURCE (containers) dbus-daemon could not raise its fd
	// limit, and where the package has not created the "omadm" group yet
	// it notes the unknown group (and ignores those rules). Any other
	// message fails the test.
	_, groupErr := user.LookupGroup(controlGroup)
	var rest []string
	for l := range strings.Lines(b.stderr.String()) {
		hostNote := strings.Contains(l, "Failed to set fd limit") ||
			groupErr != nil && strings.Contains(l, `Unknown group "`+controlGroup+`"`)
		if !hostNote {
			rest = append(rest, l)
		}
	}
	msg := strings.TrimSpace(strings.Join(rest, ""))
	if msg != "" {
		t.Errorf("dbus-daemon printed:\n%s", msg)
	}
}

// service stands in for agent/dbusapi: the contract's methods with the
// signatures a godbus implementation has.
type service struct{}

func (service) StartSession(serverID string) (string, *dbus.Error) { return "t-" + serverID, nil }
func (service) GetState() (map[string]dbus.Variant, *dbus.Error) {
	return map[string]dbus.Variant{"State": dbus.MakeVariant("idle")}, nil
}
func (service) Reload() ([]string, *dbus.Error) { return []string{}, nil }
func (service) ProcessFile(f dbus.UnixFD, kind string) (string, *dbus.Error) {
	syscall.Close(int(f))
	return "t-file", nil
}
func (service) PlanFile(f dbus.UnixFD, serverID string) (string, *dbus.Error) {
	syscall.Close(int(f))
	return "plan", nil
}

// TestContractMatchesGodbusSignatures: each method of the XML has the
// argument types a godbus export of the Go signatures above produces, so
// the contract is implementable as written.
func TestContractMatchesGodbusSignatures(t *testing.T) {
	want := map[string]string{}
	for _, m := range introspect.Methods(service{}) {
		want[m.Name] = argTypes(m.Args)
	}
	got := map[string]string{}
	for _, m := range contractInterface(t, readContract(t)).Methods {
		got[m.Name] = argTypes(m.Args)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("contract methods %v, want (godbus) %v", got, want)
	}
	sigs := map[string]string{}
	ci := contractInterface(t, readContract(t))
	for _, s := range ci.Signals {
		for _, a := range s.Args {
			sigs[s.Name] += a.Type
		}
	}
	wantSigs := map[string]string{"SessionStarted": "ss", "SessionFinished": "ssis"}
	if !reflect.DeepEqual(sigs, wantSigs) {
		t.Errorf("signals %v, want %v", sigs, wantSigs)
	}
	props := map[string]string{}
	for _, p := range ci.Properties {
		props[p.Name] = p.Type + "/" + p.Access
	}
	wantProps := map[string]string{"Version": "s/read", "State": "s/read", "Servers": "a(sxsx)/read", "PendingAlerts": "u/read", "ModemState": "s/read"}
	if !reflect.DeepEqual(props, wantProps) {
		t.Errorf("properties %v, want %v", props, wantProps)
	}
}

func argTypes(args []introspect.Arg) string {
	var in, out string
	for _, a := range args {
		if a.Direction == "out" {
			out += a.Type
		} else {
			in += a.Type
		}
	}
	return in + "->" + out
}

// policy is the part of the busconfig format the test reads.
type policy struct {
	Policies []struct {
		Context string `xml:"context,attr"`
		User    string `xml:"user,attr"`
		Group   string `xml:"group,attr"`
		Allow   []struct {
			Own       string `xml:"own,attr"`
			Dest      string `xml:"send_destination,attr"`
			Interface string `xml:"send_interface,attr"`
			Member    string `xml:"send_member,attr"`
		} `xml:"allow"`
	} `xml:"policy"`
}

// readOnlyMethods returns the org.omadm.Agent1 members the default
// context may call.
func readOnlyMethods(t *testing.T, data []byte) []string {
	t.Helper()
	var p policy
	if err := xml.Unmarshal(data, &p); err != nil {
		t.Fatalf("%s: %v", policyFile, err)
	}
	var out []string
	for _, pol := range p.Policies {
		if pol.Context != "default" {
			continue
		}
		for _, a := range pol.Allow {
			if a.Dest == busName && a.Interface == iface {
				if a.Member == "" {
					t.Fatalf("default context may call every method of %s", iface)
				}
				out = append(out, a.Member)
			}
		}
	}
	return out
}

// TestPolicyAccess calls every method of the contract as root, as a member
// of the control group and as nobody, through a real dbus-daemon.
func TestPolicyAccess(t *testing.T) {
	need(t, "dbus-send", "gdbus")
	if os.Geteuid() != 0 {
		t.Fatal("this test switches users to check the bus policy: run it as root")
	}
	member, err := user.Lookup(standInMember)
	if err != nil {
		t.Fatalf("user %q: %v", standInMember, err)
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("user nobody: %v", err)
	}

	data, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	// The host has no "omadm" group; give its rules to "daemon", whose
	// member the test can act as. Nothing else changes.
	if !bytes.Contains(data, []byte(`group="`+controlGroup+`"`)) {
		t.Fatalf("%s has no policy for group %q", policyFile, controlGroup)
	}
	tmp := t.TempDir()
	policyCopy := filepath.Join(tmp, policyFile)
	if err := os.WriteFile(policyCopy, bytes.ReplaceAll(data, []byte(`group="`+controlGroup+`"`), []byte(`group="`+standInGroup+`"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startBus(t, policyCopy)

	contract := readContract(t)
	ci := contractInterface(t, contract)
	conn, err := dbus.Connect(b.addr)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close()
	if err := conn.Export(service{}, objPath, iface); err != nil {
		t.Fatal(err)
	}
	props := map[string]*prop.Prop{
		"Version": {Value: "test", Emit: prop.EmitConst},
		"State":   {Value: "idle", Emit: prop.EmitTrue},
		"Servers": {Value: []struct {
			A string
			B int64
			C string
			D int64
		}{}, Emit: prop.EmitTrue},
		"PendingAlerts": {Value: uint32(0), Emit: prop.EmitTrue},
		"ModemState":    {Value: "disabled", Emit: prop.EmitTrue},
	}
	if _, err := prop.Export(conn, objPath, prop.Map{iface: props}); err != nil {
		t.Fatal(err)
	}
	if err := conn.Export(introspect.NewIntrospectable(&contract), objPath, "org.freedesktop.DBus.Introspectable"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName(busName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("root RequestName = %v, %v", reply, err)
	}

	readOnly := readOnlyMethods(t, data)
	if !slices.Contains(readOnly, "GetState") {
		t.Errorf("GetState is not readable by everyone; read-only methods: %v", readOnly)
	}
	for _, want := range []string{"StartSession", "Reload", "ProcessFile", "PlanFile"} {
		if slices.Contains(readOnly, want) {
			t.Errorf("%s is callable by everyone", want)
		}
	}

	type caller struct {
		name     string
		uid, gid int
		mayWrite bool
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	callers := []caller{
		{"root", 0, 0, true},
		{"group member", atoi(member.Uid), atoi(member.Gid), true},
		{"nobody", atoi(nobody.Uid), atoi(nobody.Gid), false},
	}
	type call struct {
		method string // interface.member
		args   []string
		write  bool
	}
	calls := []call{
		{"org.freedesktop.DBus.Properties.Get", []string{"string:" + iface, "string:State"}, false},
		{"org.freedesktop.DBus.Properties.GetAll", []string{"string:" + iface}, false},
		{"org.freedesktop.DBus.Properties.Set", []string{"string:" + iface, "string:State", "variant:string:x"}, true},
		{"org.freedesktop.DBus.Introspectable.Introspect", nil, false},
		{"org.freedesktop.DBus.Peer.Ping", nil, false},
	}
	for _, m := range ci.Methods {
		var args []string
		for _, a := range m.Args {
			if a.Direction == "in" {
				// dbus-send cannot pass a file descriptor; the policy is
				// checked before the arguments, so any value shows whether
				// the bus let the call through.
				args = append(args, "string:x")
			}
		}
		calls = append(calls, call{iface + "." + m.Name, args, !slices.Contains(readOnly, m.Name)})
	}

	for _, c := range callers {
		for _, k := range calls {
			t.Run(c.name+"/"+k.method, func(t *testing.T) {
				out, denied := send(t, b.addr, c.uid, c.gid, k.method, k.args)
				// Properties.Set is for root only.
				wantDenied := k.write && !c.mayWrite || k.method == "org.freedesktop.DBus.Properties.Set" && c.uid != 0
				if denied != wantDenied {
					t.Errorf("denied = %v, want %v; dbus-send said:\n%s", denied, wantDenied, out)
				}
			})
		}
	}

	t.Run("nobody cannot own the name", func(t *testing.T) {
		out, denied := sendTo(t, b.addr, nobody, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			"org.freedesktop.DBus.RequestName", []string{"string:" + busName, "uint32:4"})
		if !denied {
			t.Errorf("RequestName by nobody was not denied:\n%s", out)
		}
	})

	t.Run("nobody receives the signals", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		mon := exec.CommandContext(ctx, "gdbus", "monitor", "--address", b.addr, "--dest", busName, "--object-path", objPath)
		mon.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(atoi(nobody.Uid)), Gid: uint32(atoi(nobody.Gid))}}
		out := &syncBuffer{}
		mon.Stdout, mon.Stderr = out, out
		if err := mon.Start(); err != nil {
			t.Fatalf("gdbus monitor: %v", err)
		}
		pid := mon.Process.Pid
		defer func() {
			syscall.Kill(pid, syscall.SIGTERM)
			mon.Wait()
		}()
		for ctx.Err() == nil && !strings.Contains(out.String(), "SessionFinished") {
			if err := conn.Emit(objPath, iface+".SessionFinished", "dm.example.com", "1A2B", int32(0), "ok"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !strings.Contains(out.String(), "SessionFinished") {
			t.Errorf("nobody did not receive SessionFinished; gdbus monitor printed:\n%s", out.String())
		}
	})
}

// send calls method on the agent's object as uid:gid and reports whether
// the bus refused it (org.freedesktop.DBus.Error.AccessDenied).
func send(t *testing.T, addr string, uid, gid int, method string, args []string) (string, bool) {
	t.Helper()
	u := &user.User{Uid: strconv.Itoa(uid), Gid: strconv.Itoa(gid)}
	return sendTo(t, addr, u, busName, objPath, method, args)
}

func sendTo(t *testing.T, addr string, u *user.User, dest, path, method string, args []string) (string, bool) {
	t.Helper()
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	argv := append([]string{"--bus=" + addr, "--print-reply", "--reply-timeout=5000", "--dest=" + dest, path, method}, args...)
	cmd := exec.Command("dbus-send", argv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: uid == 0}}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run dbus-send: %v", err)
	}
	if err == nil {
		return string(out), false
	}
	if strings.Contains(string(out), "Failed to open connection") {
		t.Fatalf("dbus-send as uid %d could not connect:\n%s", uid, out)
	}
	return string(out), strings.Contains(string(out), "org.freedesktop.DBus.Error.AccessDenied")
}
