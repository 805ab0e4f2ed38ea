package dbusapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/agent"
	"github.com/omadm-agent/omadm-agent/agent/config"
)

// Names of the control API (packaging/dbus/org.omadm.Agent1.xml).
const (
	BusName    = "org.omadm.Agent1"
	ObjectPath = dbus.ObjectPath("/org/omadm/Agent1")
	Interface  = "org.omadm.Agent1"
)

// D-Bus error names.
const (
	ErrNameUnknownServer = "org.omadm.Agent1.Error.UnknownServer"
	ErrNameQueueFull     = "org.omadm.Agent1.Error.QueueFull"
	ErrNameBadConfig     = "org.omadm.Agent1.Error.BadConfig"
	ErrNameBadInput      = "org.omadm.Agent1.Error.BadInput"
	ErrNameFailed        = "org.omadm.Agent1.Error.Failed"
	ErrNameAccessDenied  = "org.freedesktop.DBus.Error.AccessDenied"
)

// MaxFileSize bounds what ProcessFile reads from the passed descriptor.
const MaxFileSize = 1 << 20

// Backend is what the API exposes; *agent.Agent implements it. Every
// method may be called from any goroutine.
type Backend interface {
	StartSession(ctx context.Context, serverID string) (string, error)
	Snapshot() agent.Snapshot
	Reload(ctx context.Context) ([]string, error)
	ProcessData(ctx context.Context, data []byte, kind string, local bool, origin string) (agent.Decision, []string, error)
}

// Options configure Export.
type Options struct {
	// Access decides who may call the changing methods.
	Access Access
	Logger *slog.Logger
	// CallTimeout bounds one method call (default 30s).
	CallTimeout time.Duration
	// Planner answers PlanFile: what the device would answer to the
	// server package pkg from serverID, as a printable report, with
	// nothing changed (session.Engine.Plan). Nil: PlanFile fails with
	// org.freedesktop.DBus.Error.NotSupported.
	Planner func(ctx context.Context, serverID string, pkg []byte) (string, error)
}

// Server is the exported control API object. Its SessionStarted,
// SessionFinished and StateChanged methods make it an agent.Observer: they
// emit the signals and PropertiesChanged.
type Server struct {
	conn *dbus.Conn
	b    Backend
	opts Options
	log  *slog.Logger

	mu    sync.Mutex
	props map[string]any // last emitted property values
}

// Export exports the API on conn at ObjectPath and requests BusName. It
// fails if another process owns the name (another agent is running).
func Export(conn *dbus.Conn, b Backend, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 30 * time.Second
	}
	s := &Server{conn: conn, b: b, opts: opts, log: opts.Logger}
	s.props = s.propValues(b.Snapshot())
	// Method tables, not conn.Export: godbus's Export enumerates methods
	// through reflect.Value.Method, and a reachable call of that keeps every
	// exported method of every type in the binary (1.2 MB on linux/arm).
	m, p := methods{s}, propsObj{s}
	tables := []struct {
		iface string
		table map[string]any
	}{
		{Interface, map[string]any{
			"StartSession": m.StartSession,
			"GetState":     m.GetState,
			"Reload":       m.Reload,
			"ProcessFile":  m.ProcessFile,
			"PlanFile":     m.PlanFile,
		}},
		{"org.freedesktop.DBus.Properties", map[string]any{
			"Get":    p.Get,
			"GetAll": p.GetAll,
			"Set":    p.Set,
		}},
		{"org.freedesktop.DBus.Introspectable", map[string]any{
			"Introspect": func() (string, *dbus.Error) { return IntrospectXML(), nil },
		}},
	}
	for _, t := range tables {
		if err := conn.ExportMethodTable(t.table, ObjectPath, t.iface); err != nil {
			s.unexport()
			return nil, fmt.Errorf("dbusapi: export %s: %w", t.iface, err)
		}
	}
	reply, err := conn.RequestName(BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		s.unexport()
		return nil, fmt.Errorf("dbusapi: request name %s: %w", BusName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner && reply != dbus.RequestNameReplyAlreadyOwner {
		s.unexport()
		return nil, fmt.Errorf("dbusapi: %s is owned by another process (is another agent running?)", BusName)
	}
	return s, nil
}

func (s *Server) unexport() {
	_ = s.conn.ExportMethodTable(nil, ObjectPath, Interface)
	_ = s.conn.ExportMethodTable(nil, ObjectPath, "org.freedesktop.DBus.Properties")
	_ = s.conn.ExportMethodTable(nil, ObjectPath, "org.freedesktop.DBus.Introspectable")
}

// Close releases the name and unexports the object (the connection stays
// open; the caller closes it).
func (s *Server) Close() error {
	s.unexport()
	_, err := s.conn.ReleaseName(BusName)
	return err
}

// SessionStarted emits the SessionStarted signal.
func (s *Server) SessionStarted(t agent.Trigger) {
	if err := s.conn.Emit(ObjectPath, Interface+".SessionStarted", t.ServerID, t.Session); err != nil {
		s.log.Debug("emit SessionStarted", "err", err)
	}
}

// SessionFinished emits the SessionFinished signal.
// It emits one more, with the same outcome, for each SessionID promised
// to a caller whose pending request this session's trigger replaced
// (agent.Trigger.Promised), so that caller's wait ends too.
func (s *Server) SessionFinished(t agent.Trigger, r agent.Result, _ error) {
	ids := append([]string{r.SessionID}, t.Promised...)
	for i, id := range ids {
		if i > 0 && id == r.SessionID {
			continue
		}
		if err := s.conn.Emit(ObjectPath, Interface+".SessionFinished", t.ServerID, id, int32(r.Status), r.Summary); err != nil {
			s.log.Debug("emit SessionFinished", "err", err)
		}
	}
}

// StateChanged emits PropertiesChanged for the properties whose value
// differs from the last one emitted.
func (s *Server) StateChanged(snap agent.Snapshot) {
	now := s.propValues(snap)
	changed := map[string]dbus.Variant{}
	s.mu.Lock()
	for k, v := range now {
		if k == "ModemState" {
			continue // read at Get time; not tracked
		}
		if !reflect.DeepEqual(s.props[k], v) {
			changed[k] = dbus.MakeVariant(v)
			s.props[k] = v
		}
	}
	s.mu.Unlock()
	if len(changed) == 0 {
		return
	}
	if err := s.conn.Emit(ObjectPath, "org.freedesktop.DBus.Properties.PropertiesChanged", Interface, changed, []string{}); err != nil {
		s.log.Debug("emit PropertiesChanged", "err", err)
	}
}

// ServerEntry is one element of the Servers property: (server_id, last
// session end in Unix seconds or 0, last result, next poll in Unix seconds
// or 0), D-Bus signature (sxsx).
type ServerEntry struct {
	ServerID   string
	LastEnd    int64
	LastResult string
	NextPoll   int64
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func (s *Server) propValues(snap agent.Snapshot) map[string]any {
	servers := make([]ServerEntry, 0, len(snap.Servers))
	for _, ss := range snap.Servers {
		servers = append(servers, ServerEntry{ss.ServerID, unix(ss.LastEnd), ss.LastResult, unix(ss.NextPoll)})
	}
	return map[string]any{
		"Version":       snap.Version,
		"State":         snap.State,
		"Servers":       servers,
		"PendingAlerts": snap.PendingAlerts,
		"ModemState":    snap.ModemState,
	}
}

func (s *Server) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.opts.CallTimeout)
}

// callerUID asks the bus for the uid of sender.
func (s *Server) callerUID(sender dbus.Sender) (uint32, error) {
	var uid uint32
	err := s.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixUser", 0, string(sender)).Store(&uid)
	return uid, err
}

// authorize returns the caller's uid, or an AccessDenied error.
func (s *Server) authorize(sender dbus.Sender, method string) (uint32, *dbus.Error) {
	uid, err := s.callerUID(sender)
	if err != nil {
		return 0, dbus.NewError(ErrNameAccessDenied, []any{"cannot identify the caller: " + err.Error()})
	}
	if !s.opts.Access.Allowed(uid) {
		s.log.Warn("D-Bus call refused", "method", method, "uid", uid, "sender", string(sender))
		msg := fmt.Sprintf("%s needs root or membership of group %q (caller uid %d)", method, s.opts.Access.Group, uid)
		return uid, dbus.NewError(ErrNameAccessDenied, []any{msg})
	}
	return uid, nil
}

func dbusErr(err error) *dbus.Error {
	name := ErrNameFailed
	switch {
	case errors.Is(err, agent.ErrUnknownServer):
		name = ErrNameUnknownServer
	case errors.Is(err, agent.ErrQueueFull):
		name = ErrNameQueueFull
	case errors.Is(err, agent.ErrBadInput):
		name = ErrNameBadInput
	case isConfigError(err):
		name = ErrNameBadConfig
	}
	return dbus.NewError(name, []any{strings.ReplaceAll(err.Error(), "\n", "; ")})
}

func isConfigError(err error) bool {
	var ke *config.KeyError
	return errors.As(err, &ke)
}

// methods holds the exported org.omadm.Agent1 methods. They run in godbus
// goroutines and only call the Backend (which sends triggers or reads a
// snapshot).
type methods struct{ s *Server }

func (m methods) StartSession(sender dbus.Sender, serverID string) (string, *dbus.Error) {
	if _, derr := m.s.authorize(sender, "StartSession"); derr != nil {
		return "", derr
	}
	ctx, cancel := m.s.ctx()
	defer cancel()
	id, err := m.s.b.StartSession(ctx, serverID)
	if err != nil {
		return "", dbusErr(err)
	}
	m.s.log.Info("session requested over D-Bus", "server_id", serverID, "trigger", id, "sender", string(sender))
	return id, nil
}

func (m methods) GetState() (map[string]dbus.Variant, *dbus.Error) {
	snap := m.s.b.Snapshot()
	out := map[string]dbus.Variant{}
	for k, v := range m.s.propValues(snap) {
		out[k] = dbus.MakeVariant(v)
	}
	files := snap.ConfigFiles
	if files == nil {
		files = []string{}
	}
	out["ConfigFiles"] = dbus.MakeVariant(files)
	out["Queued"] = dbus.MakeVariant(uint32(snap.Queued))
	out["LastSession"] = dbus.MakeVariant(snap.LastSession)
	// Counters since the agent started, per server (the metrics file has
	// the same): outcome → sessions, and the last successful session.
	sessions := map[string]map[string]uint64{}
	lastOK := map[string]int64{}
	for _, ss := range snap.Servers {
		if len(ss.Outcomes) > 0 {
			sessions[ss.ServerID] = ss.Outcomes
		}
		if !ss.LastSuccess.IsZero() {
			lastOK[ss.ServerID] = ss.LastSuccess.Unix()
		}
	}
	out["Sessions"] = dbus.MakeVariant(sessions)
	out["LastSuccess"] = dbus.MakeVariant(lastOK)
	return out, nil
}

func (m methods) Reload(sender dbus.Sender) ([]string, *dbus.Error) {
	if _, derr := m.s.authorize(sender, "Reload"); derr != nil {
		return nil, derr
	}
	ctx, cancel := m.s.ctx()
	defer cancel()
	keys, err := m.s.b.Reload(ctx)
	if err != nil {
		if !errors.Is(err, agent.ErrNoReload) && !errors.Is(err, agent.ErrStopped) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, dbus.NewError(ErrNameBadConfig, []any{strings.ReplaceAll(err.Error(), "\n", "; ")})
		}
		return nil, dbusErr(err)
	}
	if keys == nil {
		keys = []string{}
	}
	return keys, nil
}

func (m methods) ProcessFile(sender dbus.Sender, fd dbus.UnixFD, kind string) (string, *dbus.Error) {
	f := os.NewFile(uintptr(fd), "dbus-fd")
	if f == nil {
		return "", dbus.NewError(ErrNameBadInput, []any{"invalid file descriptor"})
	}
	defer f.Close()
	uid, derr := m.s.authorize(sender, "ProcessFile")
	if derr != nil {
		return "", derr
	}
	data, derr := readBounded(f)
	if derr != nil {
		return "", derr
	}
	ctx, cancel := m.s.ctx()
	defer cancel()
	_, ids, err := m.s.b.ProcessData(ctx, data, kind, uid == 0, "dbus")
	if err != nil {
		return "", dbusErr(err)
	}
	return strings.Join(ids, ","), nil
}

// PlanFile reads a server package from fd and returns the plan of what the
// device would answer to it (Options.Planner). It reveals current values
// of the tree (not secrets), so it is restricted like the changing methods.
func (m methods) PlanFile(sender dbus.Sender, fd dbus.UnixFD, serverID string) (string, *dbus.Error) {
	f := os.NewFile(uintptr(fd), "dbus-fd")
	if f == nil {
		return "", dbus.NewError(ErrNameBadInput, []any{"invalid file descriptor"})
	}
	defer f.Close()
	if _, derr := m.s.authorize(sender, "PlanFile"); derr != nil {
		return "", derr
	}
	if m.s.opts.Planner == nil {
		return "", dbus.NewError("org.freedesktop.DBus.Error.NotSupported", []any{"this agent cannot plan"})
	}
	data, derr := readBounded(f)
	if derr != nil {
		return "", derr
	}
	ctx, cancel := m.s.ctx()
	defer cancel()
	out, err := m.s.opts.Planner(ctx, serverID, data)
	if err != nil {
		return "", dbus.NewError(ErrNameBadInput, []any{strings.ReplaceAll(err.Error(), "\n", "; ")})
	}
	return out, nil
}

// readBounded reads a passed file up to MaxFileSize (BadInput beyond).
func readBounded(f *os.File) ([]byte, *dbus.Error) {
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, dbus.NewError(ErrNameBadInput, []any{"read: " + err.Error()})
	}
	if len(data) > MaxFileSize {
		return nil, dbus.NewError(ErrNameBadInput, []any{fmt.Sprintf("file larger than %d bytes", MaxFileSize)})
	}
	return data, nil
}

// propsObj implements org.freedesktop.DBus.Properties; values are read from
// the live snapshot.
type propsObj struct{ s *Server }

func (p propsObj) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	if iface != Interface {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownInterface", []any{iface})
	}
	v, ok := p.s.propValues(p.s.b.Snapshot())[name]
	if !ok {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{name})
	}
	return dbus.MakeVariant(v), nil
}

func (p propsObj) GetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	if iface != Interface && iface != "" {
		return nil, dbus.NewError("org.freedesktop.DBus.Error.UnknownInterface", []any{iface})
	}
	out := map[string]dbus.Variant{}
	for k, v := range p.s.propValues(p.s.b.Snapshot()) {
		out[k] = dbus.MakeVariant(v)
	}
	return out, nil
}

func (p propsObj) Set(iface, name string, _ dbus.Variant) *dbus.Error {
	return dbus.NewError("org.freedesktop.DBus.Error.PropertyReadOnly", []any{name + " is read-only"})
}

// introspectXML is the introspection data of the object. It is a constant
// rather than built with godbus/introspect, whose reflection-based
// encoding/xml marshalling would be linked in for this one string;
// TestContract checks it against packaging/dbus/org.omadm.Agent1.xml.
const introspectXML = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node name="/org/omadm/Agent1">
 <interface name="org.omadm.Agent1">
  <method name="StartSession">
   <arg name="server_id" type="s" direction="in"/>
   <arg name="trigger_id" type="s" direction="out"/>
  </method>
  <method name="GetState">
   <arg name="state" type="a{sv}" direction="out"/>
  </method>
  <method name="Reload">
   <arg name="needs_restart" type="as" direction="out"/>
  </method>
  <method name="ProcessFile">
   <arg name="file" type="h" direction="in"/>
   <arg name="kind" type="s" direction="in"/>
   <arg name="trigger_id" type="s" direction="out"/>
  </method>
  <method name="PlanFile">
   <arg name="file" type="h" direction="in"/>
   <arg name="server_id" type="s" direction="in"/>
   <arg name="report" type="s" direction="out"/>
  </method>
  <signal name="SessionStarted">
   <arg name="server" type="s"/>
   <arg name="session_id" type="s"/>
  </signal>
  <signal name="SessionFinished">
   <arg name="server" type="s"/>
   <arg name="session_id" type="s"/>
   <arg name="status" type="i"/>
   <arg name="result" type="s"/>
  </signal>
  <property name="Version" type="s" access="read">
   <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="const"/>
  </property>
  <property name="State" type="s" access="read"/>
  <property name="Servers" type="a(sxsx)" access="read"/>
  <property name="PendingAlerts" type="u" access="read"/>
  <property name="ModemState" type="s" access="read"/>
 </interface>
 <interface name="org.freedesktop.DBus.Properties">
  <method name="Get">
   <arg name="interface_name" type="s" direction="in"/>
   <arg name="property_name" type="s" direction="in"/>
   <arg name="value" type="v" direction="out"/>
  </method>
  <method name="GetAll">
   <arg name="interface_name" type="s" direction="in"/>
   <arg name="properties" type="a{sv}" direction="out"/>
  </method>
  <method name="Set">
   <arg name="interface_name" type="s" direction="in"/>
   <arg name="property_name" type="s" direction="in"/>
   <arg name="value" type="v" direction="in"/>
  </method>
  <signal name="PropertiesChanged">
   <arg name="interface_name" type="s"/>
   <arg name="changed_properties" type="a{sv}"/>
   <arg name="invalidated_properties" type="as"/>
  </signal>
 </interface>
 <interface name="org.freedesktop.DBus.Introspectable">
  <method name="Introspect">
   <arg name="xml_data" type="s" direction="out"/>
  </method>
 </interface>
 <interface name="org.freedesktop.DBus.Peer">
  <method name="Ping"/>
  <method name="GetMachineId">
   <arg name="machine_uuid" type="s" direction="out"/>
  </method>
 </interface>
</node>
`

// IntrospectXML returns the introspection data of the object, matching
// packaging/dbus/org.omadm.Agent1.xml.
func IntrospectXML() string { return introspectXML }
