// Package dbusapi exports the agent's control API on D-Bus and provides the
// client the CLI uses to talk to a running agent.
//
// Contract: packaging/dbus/org.omadm.Agent1.xml (bus name
// org.omadm.Agent1, object /org/omadm/Agent1, interface org.omadm.Agent1:
// StartSession(s) → s, GetState() → a{sv}, Reload() → as,
// ProcessFile(h, s) → s, PlanFile(h, s) → s; signals SessionStarted(s, s) and
// SessionFinished(s, s, i, s); read-only properties Version, State,
// Servers a(sxsx), PendingAlerts, ModemState with PropertiesChanged).
// IntrospectXML matches it; a test compares the two. Bus policy:
// packaging/dbus/org.omadm.Agent1.conf. Specs: the D-Bus specification
// (org.freedesktop.DBus.Properties, GetConnectionUnixUser, unix fd
// passing), godbus/dbus/v5 export and introspect.
//
// References: StartSession and ProcessFile return "<trigger id>/<SessionID>"
// per queued trigger (comma-separated for several): the SessionID is the
// one SessionStarted and SessionFinished will carry for the session that
// serves the request (a session running at the time of the call does not
// serve it). Client.RunSession subscribes to SessionFinished (from the
// name's owner only) before calling StartSession and waits for those
// SessionIDs; that is how "omadm-agent session" runs a session through the
// daemon. If a server-initiated push for the same server replaces the
// still-pending trigger, the session carries the push's SessionID; the
// agent then emits SessionFinished a second time, with the SessionID it
// promised to the caller (agent.Trigger.Promised), so the caller's wait
// ends with the outcome of the session that served its request.
//
// Access: everyone may read (GetState, properties, signals). The changing
// methods (StartSession, Reload, ProcessFile) and PlanFile (a dry run that
// shows current values) are allowed to root and to
// members of [dbus] control_group only; the agent asks the bus for the
// caller's uid (GetConnectionUnixUser) and checks group membership itself
// (Access), in addition to the bus policy, and answers
// org.freedesktop.DBus.Error.AccessDenied otherwise. ProcessFile receives a
// file descriptor, never a path, so the agent opens nothing with its own
// rights on a caller's behalf; a bootstrap document through ProcessFile is
// applied without SEC/MAC only for a root caller.
//
// Goroutines: godbus runs every method call in a new goroutine. Methods
// never touch agent state: they send a request to the agent goroutine
// (StartSession, Reload, ProcessFile through the Backend) or read the last
// published snapshot (GetState, properties). The Observer methods
// (SessionStarted, SessionFinished, StateChanged) are called from the agent
// goroutine and only emit signals.
package dbusapi
