package dbusapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Client talks to a running agent through the control API. The CLI uses it
// ("omadm-agent status", "omadm-agent session") and falls back to
// standalone operation when Running is false.
type Client struct {
	conn *dbus.Conn
	obj  dbus.BusObject
	own  bool
}

// Connect connects to the bus named by bus ("system" or "session"; the
// addresses come from DBUS_SYSTEM_BUS_ADDRESS / DBUS_SESSION_BUS_ADDRESS).
// The connection is private and closed by Close.
func Connect(ctx context.Context, bus string) (*Client, error) {
	var (
		conn *dbus.Conn
		err  error
	)
	switch bus {
	case "session":
		conn, err = dbus.ConnectSessionBus(dbus.WithContext(ctx))
	case "system", "":
		conn, err = dbus.ConnectSystemBus(dbus.WithContext(ctx))
	default:
		return nil, fmt.Errorf("dbusapi: unknown bus %q (want system or session)", bus)
	}
	if err != nil {
		return nil, fmt.Errorf("dbusapi: connect to the %s bus: %w", orSystem(bus), err)
	}
	c := NewClient(conn)
	c.own = true
	return c, nil
}

func orSystem(bus string) string {
	if bus == "" {
		return "system"
	}
	return bus
}

// NewClient returns a Client on an existing connection (not closed by
// Close).
func NewClient(conn *dbus.Conn) *Client {
	return &Client{conn: conn, obj: conn.Object(BusName, ObjectPath)}
}

// Close closes the connection if Connect opened it.
func (c *Client) Close() error {
	if c.own {
		return c.conn.Close()
	}
	return nil
}

// Running reports whether an agent owns BusName.
func (c *Client) Running(ctx context.Context) bool {
	var has bool
	err := c.conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, BusName).Store(&has)
	return err == nil && has
}

// Error is a D-Bus error returned by the agent.
type Error struct {
	Name    string // e.g. org.omadm.Agent1.Error.UnknownServer
	Message string
}

func (e *Error) Error() string {
	short := e.Name[strings.LastIndexByte(e.Name, '.')+1:]
	if e.Message == "" {
		return short
	}
	return short + ": " + e.Message
}

func wrap(err error) error {
	var de dbus.Error
	if errors.As(err, &de) {
		msg := ""
		if len(de.Body) > 0 {
			if s, ok := de.Body[0].(string); ok {
				msg = s
			}
		}
		return &Error{Name: de.Name, Message: msg}
	}
	var dep *dbus.Error
	if errors.As(err, &dep) {
		return wrap(*dep)
	}
	return err
}

// StartSession asks the agent for a client-initiated session with serverID
// ("" = every server) and returns the trigger id.
func (c *Client) StartSession(ctx context.Context, serverID string) (string, error) {
	var id string
	if err := c.obj.CallWithContext(ctx, Interface+".StartSession", 0, serverID).Store(&id); err != nil {
		return "", wrap(err)
	}
	return id, nil
}

// Reload asks the agent to re-read its configuration; it returns the keys
// that need a restart.
func (c *Client) Reload(ctx context.Context) ([]string, error) {
	var keys []string
	if err := c.obj.CallWithContext(ctx, Interface+".Reload", 0).Store(&keys); err != nil {
		return nil, wrap(err)
	}
	return keys, nil
}

// ProcessFile passes f to the agent (as a descriptor) to be processed as
// kind ("notification", "bootstrap" or "" to detect).
func (c *Client) ProcessFile(ctx context.Context, f *os.File, kind string) (string, error) {
	var id string
	if err := c.obj.CallWithContext(ctx, Interface+".ProcessFile", 0, dbus.UnixFD(f.Fd()), kind).Store(&id); err != nil {
		return "", wrap(err)
	}
	return id, nil
}

// PlanFile passes f (a server package) to the agent and returns its plan:
// what the device would answer, with nothing changed.
func (c *Client) PlanFile(ctx context.Context, f *os.File, serverID string) (string, error) {
	var report string
	if err := c.obj.CallWithContext(ctx, Interface+".PlanFile", 0, dbus.UnixFD(f.Fd()), serverID).Store(&report); err != nil {
		return "", wrap(err)
	}
	return report, nil
}

// State is the decoded GetState answer.
type State struct {
	Version       string
	State         string
	Servers       []ServerEntry
	PendingAlerts uint32
	ModemState    string
	ConfigFiles   []string
	Queued        uint32
	LastSession   string
	// Sessions counts, per ServerID, the sessions ended since the agent
	// started by outcome (agent.Outcome); LastSuccess is, per ServerID,
	// when the last successful one ended (Unix seconds).
	Sessions    map[string]map[string]uint64
	LastSuccess map[string]int64
}

// State calls GetState.
func (c *Client) State(ctx context.Context) (State, error) {
	var m map[string]dbus.Variant
	if err := c.obj.CallWithContext(ctx, Interface+".GetState", 0).Store(&m); err != nil {
		return State{}, wrap(err)
	}
	var s State
	var errs []error
	get := func(key string, dst any) {
		v, ok := m[key]
		if !ok {
			return
		}
		if err := v.Store(dst); err != nil {
			errs = append(errs, fmt.Errorf("GetState %s: %w", key, err))
		}
	}
	get("Version", &s.Version)
	get("State", &s.State)
	get("Servers", &s.Servers)
	get("PendingAlerts", &s.PendingAlerts)
	get("ModemState", &s.ModemState)
	get("ConfigFiles", &s.ConfigFiles)
	get("Queued", &s.Queued)
	get("LastSession", &s.LastSession)
	get("Sessions", &s.Sessions)
	get("LastSuccess", &s.LastSuccess)
	return s, errors.Join(errs...)
}
