package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/agent"
	"github.com/omadm-agent/omadm-agent/agent/bootstrap"
	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/dbusapi"
	"github.com/omadm-agent/omadm-agent/agent/device"
	"github.com/omadm-agent/omadm-agent/agent/metrics"
	"github.com/omadm-agent/omadm-agent/agent/outbox"
	"github.com/omadm-agent/omadm-agent/agent/sdnotify"
	"github.com/omadm-agent/omadm-agent/agent/session"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/csp/connmo"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/csp/fumo"
	"github.com/omadm-agent/omadm-agent/csp/hostname"
	"github.com/omadm-agent/omadm-agent/csp/modemstatus"
	"github.com/omadm-agent/omadm-agent/csp/system"
	"github.com/omadm-agent/omadm-agent/csp/timedate"
	"github.com/omadm-agent/omadm-agent/csp/window"
	"github.com/omadm-agent/omadm-agent/modem"
	"github.com/omadm-agent/omadm-agent/modem/mm"
	"github.com/omadm-agent/omadm-agent/modem/wappush"
	"github.com/omadm-agent/omadm-agent/tree"
)

// cmdRun runs the daemon: "omadm-agent run". SIGTERM/SIGINT stop it (the
// running session is aborted with 1223, the tree flushed, exit 0), SIGHUP
// reloads the configuration, SIGUSR1 polls every server now.
func cmdRun(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("run")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: omadm-agent [--config FILE] [--state-dir DIR] run\n\n"+
			"Runs the agent daemon (systemd Type=notify). --state-dir overrides [agent] state_dir.\n")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("run takes no arguments")
	}
	// The daemon's heap is small (a session peaks at a few MB), so a
	// tighter GC target keeps the peak RSS down at little CPU cost
	// (testdata/footprint/RESULTS.md). GOGC in the environment wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	return runDaemon(ctx, c, daemonOptions{})
}

// daemonOptions are the seams tests use.
type daemonOptions struct {
	// runner replaces the session engine.
	runner agent.SessionRunner
	// loopHook is passed to agent.Config.LoopHook.
	loopHook func(ctx context.Context)
	// heartbeat overrides the main-loop heartbeat (default: watchdog/4).
	heartbeat time.Duration
	// started receives the agent once READY=1 was sent.
	started chan<- *agent.Agent
	// alertSink, if set, receives the providers' alert callback.
	alertSink chan<- func(tree.Alert)
}

// stateDir returns --state-dir when it was changed from the default,
// otherwise [agent] state_dir.
func (c *cli) daemonStateDir(cfg config.Config) string {
	if c.stateDir != "" && c.stateDir != defaultStateDir {
		return c.stateDir
	}
	return cfg.Agent.StateDir
}

// loadDaemonConfig loads the configuration; a missing main file is the
// defaults (with a notice). It returns every problem with file:line.
func (c *cli) loadDaemonConfig() (config.Config, config.Sources, error) {
	if _, err := os.Stat(c.config); errors.Is(err, fs.ErrNotExist) {
		return config.Default(), config.Sources{}, nil
	}
	return config.Load(c.config)
}

func runDaemon(ctx context.Context, c *cli, opts daemonOptions) error {
	level := new(slog.LevelVar)
	var handler slog.Handler
	if sdnotify.UseJournal() {
		handler = sdnotify.NewJournalHandler(level, "omadm-agent")
	} else {
		handler = slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(handler)
	notify := sdnotify.New(log)

	cfg, src, err := c.loadDaemonConfig()
	if err != nil {
		problems := strings.Split(err.Error(), "\n")
		for _, p := range problems {
			fmt.Fprintln(c.stderr, p)
		}
		return fmt.Errorf("invalid configuration: %d problem(s) listed above", len(problems))
	}
	level.Set(cfg.Agent.Level())
	if len(src.Files) == 0 {
		log.Info("no configuration file; using the defaults", "path", c.config)
	}
	stateDir := c.daemonStateDir(cfg)
	cfg.Agent.StateDir = stateDir
	unlock, err := lockStateDir(stateDir, "daemon")
	if err != nil {
		return fmt.Errorf("%w (one agent per state directory)", err)
	}
	defer unlock()
	load := func() (config.Config, config.Sources, error) {
		nc, s, err := c.loadDaemonConfig()
		if err == nil {
			nc.Agent.StateDir = c.daemonStateDir(nc)
		}
		return nc, s, err
	}
	notify.Status("starting")

	// The modem (optional).
	var (
		mdm        *modem.Modem
		modemState atomic.Value
	)
	modemState.Store("disabled")
	// With [modem] backend = "modemmanager" ModemManager owns the modem:
	// pushes come from its Messaging API once the D-Bus connection is up.
	useMM := cfg.Modem.Enabled && cfg.Modem.Backend == "modemmanager"
	var mmSrc atomic.Pointer[mm.Source]
	if useMM {
		modemState.Store("modemmanager: starting")
	}
	if cfg.Modem.Enabled && !useMM {
		mcfg := modem.Config{Device: cfg.Modem.Device, Baud: cfg.Modem.Baud, Logger: log.With("component", "modem")}
		if _, err := os.Stat(cfg.Modem.Device); err != nil {
			modemState.Store("absent")
			log.Warn("modem device absent; waiting for it", "device", cfg.Modem.Device)
			mdm, err = modem.New(mcfg)
			if err != nil {
				return fmt.Errorf("modem: %w", err)
			}
		} else {
			modemState.Store("opening")
			octx, cancel := context.WithTimeout(ctx, 20*time.Second)
			mdm, err = modem.Open(octx, mcfg)
			cancel()
			if err != nil {
				modemState.Store("error: " + err.Error())
				log.Warn("modem not ready; retrying in the background", "device", cfg.Modem.Device, "err", err)
				if mdm, err = modem.New(mcfg); err != nil {
					return fmt.Errorf("modem: %w", err)
				}
			} else {
				modemState.Store("ready")
			}
		}
	}
	modemStateFn := func() string {
		s := modemState.Load().(string)
		if cfg.Modem.Enabled && !useMM && s == "ready" {
			if _, err := os.Stat(cfg.Modem.Device); err != nil {
				return "absent"
			}
		}
		return s
	}

	// The tree, with DevInfo/DevDetail/DMAcc, shared with the CLI.
	dopts := device.Options{StateDir: stateDir, Device: cfg.Device, Version: version}
	if mdm != nil {
		dopts.IMEI = (&imeiCache{get: mdm.IMEI, ttl: 10 * time.Minute}).IMEI
	}
	if useMM {
		dopts.IMEI = (&imeiCache{get: func(ctx context.Context) (string, error) {
			if src := mmSrc.Load(); src != nil {
				return src.IMEI(ctx)
			}
			return "", errors.New("no ModemManager connection")
		}, ttl: 10 * time.Minute}).IMEI
	}
	t, err := device.OpenTree(ctx, dopts)
	if err != nil {
		return fmt.Errorf("open the DM tree: %w", err)
	}
	accounts := dmacc.New(t)
	ob, err := outbox.Open(filepath.Join(stateDir, "outbox"))
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}

	// FUMO and the system provider report results (Generic Alert 1226)
	// through the engine, which exists only later: until then (their first
	// Resume runs after it is set) Report fails and the providers retry.
	var (
		fumoProv    *fumo.Provider
		sysProv     *system.Provider
		alertReport atomic.Value
	)
	alertReport.Store(func(context.Context, tree.Alert) error { return errors.New("the session engine is not up yet") })

	// D-Bus (optional): the control API and the D-Bus CSPs.
	conn, err := connectBus(ctx, cfg.DBus.Bus)
	if err != nil {
		log.Warn("D-Bus unavailable: control API, hostname and timedate objects disabled", "bus", cfg.DBus.Bus, "err", err)
	} else {
		defer conn.Close()
		if err := hostname.Mount(t, conn); err != nil {
			log.Warn("./Vendor hostname object not mounted", "err", err)
		}
		if err := timedate.Mount(t, conn); err != nil {
			log.Warn("./Vendor timedate object not mounted", "err", err)
		}
		// The cellular connections (NetworkManager) only where NM runs or
		// can be started: without it every Get below would be a 500, and so
		// would a listing of the whole tree.
		if onBus(ctx, conn, connmo.Service) {
			if err := connmo.Mount(t, conn, connmo.Config{}); err != nil {
				log.Warn("./Vendor cellular (NetworkManager) object not mounted", "err", err)
			}
		} else {
			log.Info("NetworkManager is not on the bus: ./Vendor/omadm/Network/Cellular not mounted")
		}
		report := func(ctx context.Context, al tree.Alert) error {
			return alertReport.Load().(func(context.Context, tree.Alert) error)(ctx, al)
		}
		windows, err := window.Parse(cfg.System.MaintenanceWindows) // validated with the config
		if err != nil {
			return err
		}
		sp, err := system.Mount(t, conn, system.Config{
			StateDir: filepath.Join(stateDir, "system"), Units: cfg.System.Units, PowerOff: cfg.System.PowerOff,
			RebootDelay: cfg.System.RebootDelay, MinUptime: cfg.System.MinUptime, JobTimeout: cfg.System.JobTimeout,
			Report: report, Window: windows,
		})
		if err != nil {
			log.Warn("./Vendor system object not mounted", "err", err)
		} else {
			sysProv = sp
			defer func() {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				sp.Close(cctx)
			}()
		}
		if useMM {
			mmSrc.Store(mm.New(conn, mm.Config{Logger: log.With("component", "modem"), EnableModem: cfg.Modem.MMEnableModem}))
			if err := modemstatus.Mount(t, conn); err != nil {
				log.Warn("./Vendor modem status object not mounted", "err", err)
			}
		}
		if cfg.FUMO.Enabled {
			fp, err := mountFUMO(t, conn, cfg, stateDir, report, ob, log)
			if err != nil {
				log.Warn("./FUMO not mounted", "err", err)
			} else {
				fumoProv = fp
				defer func() {
					cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
					defer cancel()
					fp.Close(cctx)
				}()
			}
		}
	}

	ui := &liveUI{}
	ui.set(cfg.UI)
	eng, err := session.NewEngine(engineConfig(cfg, t, accounts, ob, ui, log))
	if err != nil {
		return fmt.Errorf("session engine: %w", err)
	}
	var runner agent.SessionRunner = engineRunner{eng}
	if opts.runner != nil {
		runner = opts.runner
	}

	obs := &observers{}
	obs.add(statusObserver{notify})
	obs.add(memoryObserver{})
	if sysProv != nil {
		obs.add(sessionEndObserver{func(bool) { sysProv.SessionEnded() }})
	}
	if fumoProv != nil {
		obs.add(sessionEndObserver{fumoProv.SessionEnded})
	}
	var heartbeat time.Duration
	wd, err := sdnotify.WatchdogInterval()
	if err != nil {
		log.Warn("watchdog settings unreadable; watchdog off", "err", err)
	}
	if wd > 0 {
		heartbeat = wd / 4
	}
	if opts.heartbeat > 0 {
		heartbeat = opts.heartbeat
	}
	acfg := agent.Config{
		Config: cfg, ConfigFiles: src.Files, Load: load,
		Runner: runner, Accounts: accounts, Alerts: outboxAlerts{ob: ob, adopt: eng.AdoptUnattributed},
		Bootstrap: agent.TreeBootstrapper{Tree: t},
		Observer:  obs, Logger: log, Level: level, Version: version, ModemState: modemStateFn,
		Heartbeat: heartbeat, LoopHook: opts.loopHook,
		OnReload: func(nc config.Config) { ui.set(nc.UI) },
	}
	if mdm != nil {
		acfg.SIM = mdm
	}
	a, err := agent.New(acfg)
	if err != nil {
		return err
	}

	if conn != nil {
		srv, err := dbusapi.Export(conn, a, dbusapi.Options{Access: dbusapi.Access{Group: cfg.DBus.ControlGroup}, Logger: log,
			Planner: func(ctx context.Context, serverID string, pkg []byte) (string, error) {
				return planWith(ctx, eng, accounts, serverID, pkg)
			}})
		if err != nil {
			if strings.Contains(err.Error(), "owned by another process") {
				return err
			}
			log.Warn("D-Bus control API not available", "err", err)
		} else {
			defer srv.Close()
			obs.add(srv)
		}
	}

	var textfile *metrics.Textfile
	if cfg.Metrics.Textfile != "" {
		// The last success per server outlives restarts (alerts on "no
		// success for a day" must not reset with the agent).
		lastOK, err := metrics.OpenLastSuccess(filepath.Join(stateDir, "metrics", metrics.LastSuccessFile))
		if err != nil {
			log.Warn("last-success times not read; starting without them", "err", err)
		}
		textfile = metrics.NewTextfile(cfg.Metrics.Textfile, cfg.Metrics.Interval, func() []metrics.Family {
			snap, err := lastOK.Merge(a.Snapshot())
			if err != nil {
				log.Warn("last-success times not saved", "err", err)
			}
			return append(metrics.FromSnapshot(snap), jobMetrics(cfg, stateDir)...)
		}, func(err error) {
			if err != nil {
				log.Warn("metrics file not written; will retry", "err", err)
			} else {
				log.Info("metrics file written again", "path", cfg.Metrics.Textfile)
			}
		})
		obs.add(kickObserver{textfile.Kick})
	}

	factoryBootstrap(ctx, cfg, t, accounts, log)
	simBootstrap(ctx, cfg, t, accounts, mdm, log)

	// alertSink is the func(tree.Alert) for providers that report
	// asynchronous results (Generic Alert 1226): the engine attributes the
	// alert to its server(s) and stores it in the outbox, then the agent
	// queues a session with each of them.
	alertSink := func(al tree.Alert) {
		if _, err := eng.ReportAlert(context.WithoutCancel(ctx), al); err != nil {
			log.Error("generic alert not stored", "type", al.Type, "source", string(al.Source), "err", err)
		}
		a.AlertsChanged()
	}
	if opts.alertSink != nil {
		opts.alertSink <- alertSink
	}
	alertReport.Store(func(ctx context.Context, al tree.Alert) error {
		if _, err := eng.ReportAlert(ctx, al); err != nil {
			return err
		}
		a.AlertsChanged()
		return nil
	})
	if fumoProv != nil {
		fumoProv.Resume() // a job that spans the reboot reports its result now
	}
	if sysProv != nil {
		sysProv.Resume() // a reboot the agent ordered reports its result now
	}

	var wg sync.WaitGroup
	actx, stopAgent := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAgent()
	// The metrics file outlives the agent goroutine so that its last
	// write shows the agent stopped (see below).
	mctx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMetrics()
	metricsDone := make(chan struct{})
	if textfile != nil {
		go func() { defer close(metricsDone); _ = textfile.Run(mctx) }()
	} else {
		close(metricsDone)
	}
	wg.Go(func() {
		if err := a.Run(actx); err != nil {
			log.Error("agent stopped", "err", err)
		}
	})
	wctx, stopRest := context.WithCancel(ctx)
	defer stopRest()
	watchReady := make(chan struct{})
	wg.Go(func() {
		err := a.Watch(wctx, agent.WatchConfig{ConfigPath: c.configPathIfExists(), SpoolDir: cfg.Agent.Spool(), Ready: watchReady})
		if err != nil {
			log.Error("file watcher stopped", "err", err)
		}
	})
	select {
	case <-watchReady:
	case <-time.After(30 * time.Second):
		log.Warn("file watcher not ready after 30s; continuing")
	}
	if mdm != nil {
		wg.Go(func() {
			err := mdm.Serve(wctx, func(ctx context.Context, p wappush.Push) error {
				modemState.Store("ready")
				return a.HandlePush(ctx, p)
			})
			if err != nil && wctx.Err() == nil {
				modemState.Store("error: " + err.Error())
				log.Error("modem stopped", "err", err)
			}
		})
	}
	if src := mmSrc.Load(); src != nil {
		wg.Go(func() {
			err := src.Serve(wctx, func(ctx context.Context, p wappush.Push) error {
				modemState.Store("modemmanager: ready")
				return a.HandlePush(ctx, p)
			})
			if err != nil && wctx.Err() == nil {
				modemState.Store("modemmanager: error: " + err.Error())
				log.Error("ModemManager push source stopped", "err", err)
			}
		})
	} else if useMM {
		modemState.Store("modemmanager: no D-Bus connection")
		log.Error("[modem] backend = \"modemmanager\" needs the D-Bus connection; no pushes will be received")
	}
	if wd > 0 {
		wg.Go(func() { notify.Watchdog(wctx, wd, a.Liveness) })
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	wg.Go(func() {
		for {
			select {
			case <-wctx.Done():
				return
			case s := <-sigs:
				switch s {
				case syscall.SIGHUP:
					log.Info("SIGHUP: reloading the configuration")
					notify.Notify("RELOADING=1")
					if _, err := a.Reload(wctx); err != nil && wctx.Err() == nil {
						log.Warn("reload failed", "err", strings.ReplaceAll(err.Error(), "\n", "; "))
					}
					notify.Notify("READY=1")
				case syscall.SIGUSR1:
					log.Info("SIGUSR1: polling every server")
					a.PollAll()
				}
			}
		}
	})

	snap := a.Snapshot()
	notify.Ready(fmt.Sprintf("idle; %d server(s); modem %s", len(snap.Servers), modemStateFn()))
	log.Info("agent ready", "version", version, "state_dir", stateDir, "servers", len(snap.Servers), "modem", modemStateFn(), "watchdog", wd)
	if opts.started != nil {
		opts.started <- a
	}

	<-ctx.Done()
	log.Info("stopping")
	notify.Stopping("stopping: ending the current session")
	stopRest()
	stopAgent() // the running session is cancelled: it sends 1223 and ends
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(25 * time.Second):
		log.Error("goroutines did not stop in time")
	}
	stopMetrics()
	<-metricsDone
	if err := t.Flush(context.Background()); err != nil {
		return fmt.Errorf("flush the tree: %w", err)
	}
	if mdm != nil {
		_ = mdm.Close()
	}
	log.Info("stopped")
	return nil
}

// configPathIfExists returns c.config, or "" when there is no file to watch.
func (c *cli) configPathIfExists() string {
	if _, err := os.Stat(filepath.Dir(c.config)); err != nil {
		return ""
	}
	return c.config
}

func connectBus(ctx context.Context, bus string) (*dbus.Conn, error) {
	// The connection outlives ctx (cancelled on SIGTERM) so the final
	// signals can still go out; runDaemon closes it.
	opt := dbus.WithContext(context.WithoutCancel(ctx))
	if bus == "session" {
		return dbus.ConnectSessionBus(opt)
	}
	return dbus.ConnectSystemBus(opt)
}

// factoryBootstrap applies [bootstrap] factory_file when the tree has no
// account.
func factoryBootstrap(ctx context.Context, cfg config.Config, t *tree.Tree, accs *dmacc.Store, log *slog.Logger) {
	if cfg.Bootstrap.FactoryFile == "" {
		return
	}
	nodes, err := accs.Nodes(ctx)
	if err != nil || len(nodes) > 0 {
		return
	}
	doc, err := os.ReadFile(cfg.Bootstrap.FactoryFile)
	if err != nil {
		log.Warn("factory bootstrap file unreadable", "file", cfg.Bootstrap.FactoryFile, "err", err)
		return
	}
	rep, err := agent.TreeBootstrapper{Tree: t}.Bootstrap(ctx, doc, bootstrap.Options{Origin: "file"})
	if err != nil {
		log.Error("factory bootstrap refused", "file", cfg.Bootstrap.FactoryFile, "err", err)
		return
	}
	log.Info("factory bootstrap applied", "added", strings.Join(rep.Added, ","))
}

// engineConfig builds the session engine's configuration.
func engineConfig(cfg config.Config, t *tree.Tree, accs *dmacc.Store, ob *outbox.Outbox, ui session.UIHandler, log *slog.Logger) session.Config {
	tr := cfg.Transport
	enc := map[string]syncml.Encoding{}
	for _, s := range cfg.Servers {
		switch s.Encoding {
		case "xml":
			enc[s.ServerID] = syncml.XML
		case "wbxml":
			enc[s.ServerID] = syncml.WBXML
		}
	}
	return session.Config{
		Tree: t, Accounts: accs, Outbox: ob, UI: ui, Logger: log.With("component", "session"),
		Transport: session.Transport{
			CAFile: tr.CAFile, ClientCert: tr.ClientCert, ClientKey: tr.ClientKey, PinSHA256: tr.PinSHA256,
			Proxy: tr.Proxy, ConnectTimeout: tr.ConnectTimeout, RequestTimeout: tr.RequestTimeout,
			// The w7 retry schedule is applied once, by the agent (a failed
			// session is retried after Transport.Backoff without holding the
			// server's session slot for up to max_backoff); the engine
			// itself does not retry.
			ConnRetryFreq: -1, InitialBackoff: tr.InitialBackoff, MaxBackoff: tr.MaxBackoff,
		},
		XML: tr.Encoding == "xml", Encodings: enc,
		MaxMsgSize: tr.MaxMsgSize, MaxObjSize: tr.MaxObjSize,
		Deadline: cfg.Agent.SessionDeadline, RecordDir: cfg.Agent.RecordDir,
		UserAgent: "omadm-agent/" + version,
	}
}

// engineRunner adapts the session engine to agent.SessionRunner.
type engineRunner struct{ e *session.Engine }

func (r engineRunner) RunSession(ctx context.Context, t agent.Trigger) (agent.Result, error) {
	trig := session.Trigger{ServerID: t.ServerID, Initiator: session.ClientInitiated, SessionID: t.Session, NonceReset: t.NonceReset}
	if t.ServerInitiated() {
		trig.Initiator = session.ServerInitiated
	}
	sum, err := r.e.Run(ctx, trig)
	res := agent.Result{SessionID: sum.SessionID, Commands: sum.Commands, Summary: summaryLine(sum, err)}
	switch {
	case err == nil:
	case errors.Is(err, session.ErrTransport):
		res.Status = -1
	case errors.Is(err, session.ErrAuth):
		res.Status = 401
	default:
		res.Status = 500
	}
	return res, err
}

func summaryLine(s session.Summary, err error) string {
	if err != nil {
		return strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	return fmt.Sprintf("%s: %d commands, %d alerts sent (%d acked), %d round trips in %s",
		s.Result, s.Commands, s.AlertsSent, s.AlertsAcked, s.RoundTrips, s.Duration.Round(time.Millisecond))
}

// liveUI is the engine's UI handler with the [ui] policy replaced live on
// reload.
type liveUI struct {
	p atomic.Pointer[session.Headless]
}

func (u *liveUI) set(c config.UI) {
	u.p.Store(&session.Headless{Confirm: c.Confirm, Input: c.Input, AskTimeout: c.AskTimeout, OnTimeout: c.OnTimeout})
}

func (u *liveUI) Ask(ctx context.Context, req session.UIRequest) (session.UIResponse, error) {
	return u.p.Load().Ask(ctx, req)
}

// outboxAlerts reports the pending Generic Alerts per ServerID. Entries an
// older version wrote without a server are attributed first (adopt:
// Engine.AdoptUnattributed), so that every pending alert triggers a
// session with the server it is for and no other.
type outboxAlerts struct {
	ob    *outbox.Outbox
	adopt func(ctx context.Context) error
}

func (o outboxAlerts) PendingAlerts(ctx context.Context) (map[string]int, error) {
	var errs []error
	if o.adopt != nil {
		if err := o.adopt(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	p, err := o.ob.Pending()
	if err != nil {
		errs = append(errs, err)
	}
	var m map[string]int
	for _, e := range p {
		if e.ServerID == "" {
			continue // could not be attributed (no account yet): kept
		}
		if m == nil {
			m = map[string]int{}
		}
		m[e.ServerID]++
	}
	return m, errors.Join(errs...)
}

// observers fans agent events out to systemd and D-Bus.
type observers struct {
	mu sync.Mutex
	os []agent.Observer
}

func (o *observers) add(x agent.Observer) {
	o.mu.Lock()
	o.os = append(o.os, x)
	o.mu.Unlock()
}

func (o *observers) each(f func(agent.Observer)) {
	o.mu.Lock()
	list := append([]agent.Observer(nil), o.os...)
	o.mu.Unlock()
	for _, x := range list {
		f(x)
	}
}

func (o *observers) SessionStarted(t agent.Trigger) {
	o.each(func(x agent.Observer) { x.SessionStarted(t) })
}

func (o *observers) SessionFinished(t agent.Trigger, r agent.Result, err error) {
	o.each(func(x agent.Observer) { x.SessionFinished(t, r, err) })
}

func (o *observers) StateChanged(s agent.Snapshot) {
	o.each(func(x agent.Observer) { x.StateChanged(s) })
}

// statusObserver writes STATUS= lines for systemctl status.
type statusObserver struct{ n *sdnotify.Notifier }

func (s statusObserver) SessionStarted(t agent.Trigger) {
	s.n.Status(fmt.Sprintf("session %s with %s (%s)", t.Session, t.ServerID, t.Source))
}

func (s statusObserver) SessionFinished(t agent.Trigger, r agent.Result, _ error) {
	s.n.Status(fmt.Sprintf("idle; last session %s with %s at %s: %s", r.SessionID, t.ServerID, time.Now().Format(time.RFC3339), r.Summary))
}

func (statusObserver) StateChanged(agent.Snapshot) {}

// memoryObserver returns the memory a finished session used to the OS: an
// idle daemon otherwise keeps its peak RSS for good.
type memoryObserver struct{}

func (memoryObserver) SessionStarted(agent.Trigger) {}

func (memoryObserver) SessionFinished(agent.Trigger, agent.Result, error) { debug.FreeOSMemory() }

func (memoryObserver) StateChanged(agent.Snapshot) {}

// kickObserver calls kick on every agent event (the metrics file).
type kickObserver struct{ kick func() }

func (o kickObserver) SessionStarted(agent.Trigger) { o.kick() }

func (o kickObserver) SessionFinished(agent.Trigger, agent.Result, error) { o.kick() }

func (o kickObserver) StateChanged(agent.Snapshot) { o.kick() }

// sessionEndObserver tells a provider that a session ended (and whether it
// succeeded): the system provider then runs a Reboot the server ordered in
// it rather than after the fallback delay ([system] reboot_delay); FUMO
// marks an updated slot good once its report went out ([fumo] mark_good).
type sessionEndObserver struct{ ended func(ok bool) }

func (sessionEndObserver) SessionStarted(agent.Trigger) {}

func (o sessionEndObserver) SessionFinished(_ agent.Trigger, r agent.Result, err error) {
	o.ended(err == nil && r.Status == 0)
}

func (sessionEndObserver) StateChanged(agent.Snapshot) {}

// cmdStatus shows the agent's state: from the running daemon over D-Bus
// when it runs, otherwise read from the state directory.
func cmdStatus(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("status")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("status takes no arguments")
	}
	cfg, _, err := c.loadDaemonConfig()
	if err != nil {
		fmt.Fprintf(c.stderr, "omadm-agent status: configuration has problems (%s); using the defaults\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		cfg = config.Default()
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if cl, err := dbusapi.Connect(qctx, cfg.DBus.Bus); err == nil {
		defer cl.Close()
		if cl.Running(qctx) {
			st, err := cl.State(qctx)
			if err != nil {
				return fmt.Errorf("ask the running agent: %w", err)
			}
			printState(c.stdout, st)
			printJobs(c.stdout, cfg, c.daemonStateDir(cfg))
			return nil
		}
	}
	return statusStandalone(ctx, c, cfg)
}

func printState(w io.Writer, st dbusapi.State) {
	fmt.Fprintf(w, "agent:          running (version %s), state %s\n", st.Version, st.State)
	fmt.Fprintf(w, "modem:          %s\n", st.ModemState)
	fmt.Fprintf(w, "pending alerts: %d\n", st.PendingAlerts)
	fmt.Fprintf(w, "queued:         %d\n", st.Queued)
	if st.LastSession != "" {
		fmt.Fprintf(w, "%s\n", st.LastSession)
	}
	fmt.Fprintf(w, "servers:\n")
	if len(st.Servers) == 0 {
		fmt.Fprintf(w, "  (none)\n")
	}
	for _, s := range st.Servers {
		last, next := "never", "-"
		if s.LastEnd > 0 {
			last = time.Unix(s.LastEnd, 0).Format(time.RFC3339) + " " + s.LastResult
		}
		if s.NextPoll > 0 {
			next = time.Unix(s.NextPoll, 0).Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  %-30s last session: %s; next poll: %s\n", s.ServerID, last, next)
		if line := sessionCounts(st.Sessions[s.ServerID], st.LastSuccess[s.ServerID]); line != "" {
			fmt.Fprintf(w, "  %-30s %s\n", "", line)
		}
	}
	if len(st.ConfigFiles) > 0 {
		fmt.Fprintf(w, "config files:   %s\n", strings.Join(st.ConfigFiles, ", "))
	}
}

// sessionCounts is one line of a server's session counters since the
// daemon started, e.g. "since start: 3 ok, 1 auth; last success ...".
func sessionCounts(outcomes map[string]uint64, lastOK int64) string {
	var parts []string
	for _, o := range metrics.Outcomes {
		if n := outcomes[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	line := "sessions since start: " + strings.Join(parts, ", ")
	if lastOK > 0 {
		line += "; last success " + time.Unix(lastOK, 0).Format(time.RFC3339)
	}
	return line
}

// statusStandalone reads the state directory: accounts, outbox, records.
func statusStandalone(ctx context.Context, c *cli, cfg config.Config) error {
	dir := c.daemonStateDir(cfg)
	w := c.stdout
	fmt.Fprintf(w, "agent:          not running (state read from %s)\n", dir)
	if _, err := os.Stat(filepath.Join(dir, device.TreeFile)); err != nil {
		fmt.Fprintf(w, "tree:           none yet (%s)\n", filepath.Join(dir, device.TreeFile))
	} else {
		t, err := device.OpenTree(ctx, device.Options{StateDir: dir, Device: cfg.Device, Version: version})
		if err != nil {
			return fmt.Errorf("open the tree: %w", err)
		}
		accs, aerr := dmacc.New(t).Accounts(ctx)
		fmt.Fprintf(w, "servers:\n")
		if len(accs) == 0 {
			fmt.Fprintf(w, "  (none)\n")
		}
		// Kept by the daemon when [metrics] textfile is set.
		lastOK, _ := metrics.OpenLastSuccess(filepath.Join(dir, "metrics", metrics.LastSuccessFile))
		for _, a := range accs {
			fmt.Fprintf(w, "  %-30s %s\n", a.ServerID, a.Addr)
			if at := lastOK.Get(a.ServerID); !at.IsZero() {
				fmt.Fprintf(w, "  %-30s last successful session %s\n", "", at.Local().Format(time.RFC3339))
			}
		}
		if aerr != nil {
			fmt.Fprintf(w, "unusable accounts: %s\n", strings.ReplaceAll(aerr.Error(), "\n", "; "))
		}
	}
	if ob, err := outbox.Open(filepath.Join(dir, "outbox")); err == nil {
		p, err := ob.Pending()
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		fmt.Fprintf(w, "pending alerts: %d\n", len(p))
	}
	printJobs(w, cfg, dir)
	spool := cfg.Agent.Spool()
	if c.stateDir != "" && c.stateDir != defaultStateDir && cfg.Agent.SpoolDir == "" {
		spool = filepath.Join(dir, "spool")
	}
	for _, sub := range []string{"", "failed"} {
		if ents, err := os.ReadDir(filepath.Join(spool, sub)); err == nil {
			n := 0
			for _, e := range ents {
				if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".reason") && !strings.HasPrefix(e.Name(), ".") {
					n++
				}
			}
			label := "spool waiting:"
			if sub == "failed" {
				label = "spool failed:  "
			}
			fmt.Fprintf(w, "%s %d\n", label, n)
		}
	}
	if rd := cfg.Agent.RecordDir; rd != "" {
		if ents, err := os.ReadDir(rd); err == nil {
			var names []string
			for _, e := range ents {
				if e.IsDir() {
					names = append(names, e.Name())
				}
			}
			sort.Strings(names)
			if len(names) > 0 {
				fmt.Fprintf(w, "session records: %d, latest %s\n", len(names), filepath.Join(rd, names[len(names)-1]))
			}
		}
	}
	return nil
}

// imeiCache remembers the modem's IMEI for a while: Package 1 of every
// session reads ./DevInfo/DevId, and an AT+CGSN round trip per read is
// wasted time on the push path. A swapped modem is seen within ttl.
type imeiCache struct {
	get func(ctx context.Context) (string, error)
	ttl time.Duration

	mu   sync.Mutex
	imei string
	at   time.Time
}

func (c *imeiCache) IMEI(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.imei != "" && time.Since(c.at) < c.ttl {
		return c.imei, nil
	}
	imei, err := c.get(ctx)
	if err != nil {
		return "", err
	}
	c.imei, c.at = imei, time.Now()
	return imei, nil
}

// onBus reports whether name has an owner on conn's bus or can be started
// by bus activation.
func onBus(ctx context.Context, conn *dbus.Conn, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var has bool
	if conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has) == nil && has {
		return true
	}
	var names []string
	if conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&names) != nil {
		return false
	}
	return slices.Contains(names, name)
}
