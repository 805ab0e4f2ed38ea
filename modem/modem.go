package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warthog618/modem/at"
	"go.bug.st/serial"
)

// Sentinel errors.
var (
	// ErrNotConnected: the port is not open (device absent or being reopened).
	ErrNotConnected = errors.New("modem not connected")
	// ErrClosed: the port closed while a command was running.
	ErrClosed = at.ErrClosed
	// ErrTimeout: the modem did not answer a command in time.
	ErrTimeout = at.ErrDeadlineExceeded
	// ErrSIMNotReady: +CPIN? did not answer READY.
	ErrSIMNotReady = errors.New("SIM not ready")
	// ErrConsumerTimeout: Run's consumer did not take a push within DeliverTimeout.
	ErrConsumerTimeout = errors.New("push consumer did not take the push in time")
)

// Config configures a Modem. Zero values take the defaults noted.
type Config struct {
	Device string // AT port, e.g. /dev/serial/by-id/usb-Quectel_EC25-if02-port0 or /dev/ttyUSB2
	Baud   int    // default 115200

	CommandTimeout time.Duration // per AT command, default 5s (+CMGL gets 4×)

	ReassemblyTimeout time.Duration // concatenated SMS, from the first segment; default 5 min
	MaxPartials       int           // partial concatenated messages kept; default 16
	MaxPartialBytes   int           // payload bytes kept for partial messages; default 64 KiB

	DeliverTimeout time.Duration // Run: how long the consumer may take to receive a push; 0 = until ctx ends
	RetryInterval  time.Duration // re-sweep after a push the consumer refused; default 1 min
	MinBackoff     time.Duration // first wait of the slow reopen backoff, doubling up to MaxBackoff; default 1s
	MaxBackoff     time.Duration // cap of the slow reopen backoff (fsnotify wakes earlier); default 30s

	Logger *slog.Logger // nil: discard
}

func (c *Config) setDefaults() {
	if c.Baud == 0 {
		c.Baud = 115200
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = 5 * time.Second
	}
	if c.ReassemblyTimeout == 0 {
		c.ReassemblyTimeout = 5 * time.Minute
	}
	if c.MaxPartials == 0 {
		c.MaxPartials = 16
	}
	if c.MaxPartialBytes == 0 {
		c.MaxPartialBytes = 64 << 10
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = time.Minute
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Modem is an AT modem on a serial port that receives WAP pushes over SMS.
// Command, IMEI, IMSI and SIMStatus are safe for concurrent use with Run.
type Modem struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex // guards port, at and sess
	port io.ReadWriteCloser
	at   *at.AT
	sess *session

	// reasm holds partial concatenated messages across reconnects. Only the
	// Run goroutine touches it.
	reasm *Reassembler

	// cpinTokens counts +CPIN lines our own +CPIN? queries will make the
	// at indication handler see, so that they are not taken for a reset.
	cpinTokens atomic.Int32

	// wakeups counts iterations of the session loop (for the idle benchmark).
	wakeups atomic.Int64

	running atomic.Bool
}

// New validates cfg and returns a Modem that is not connected yet: Run
// opens the port (and waits for the device to appear).
func New(cfg Config) (*Modem, error) {
	if cfg.Device == "" {
		return nil, errors.New("modem: Config.Device is empty")
	}
	if cfg.Baud < 0 || cfg.MaxPartials < 0 || cfg.MaxPartialBytes < 0 {
		return nil, errors.New("modem: negative Baud, MaxPartials or MaxPartialBytes")
	}
	cfg.setDefaults()
	return &Modem{cfg: cfg, log: cfg.Logger.With("device", cfg.Device),
		reasm: NewReassembler(cfg.ReassemblyTimeout, cfg.MaxPartials, cfg.MaxPartialBytes)}, nil
}

// Open opens the port and initialises the modem (echo off, +CMEE=1,
// +CMGF=0, +CNMI). Call Run to receive pushes and Close when done.
func Open(ctx context.Context, cfg Config) (*Modem, error) {
	m, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := m.connect(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Close closes the port. Run must not be running.
func (m *Modem) Close() error {
	m.disconnect()
	return nil
}

// connect opens the port, starts the at pipeline and initialises the modem.
// It returns the indication channel for the session.
func (m *Modem) connect(ctx context.Context) (*session, error) {
	port, err := serial.Open(m.cfg.Device, &serial.Mode{BaudRate: m.cfg.Baud})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", m.cfg.Device, err)
	}
	// No read timeout on the port: at's bufio.Scanner would see (0, nil)
	// reads and give up with io.ErrNoProgress.
	a := at.New(port, at.WithTimeout(m.cfg.CommandTimeout))
	s := newSession(m, a)
	m.mu.Lock()
	m.port, m.at, m.sess = port, a, s
	m.mu.Unlock()
	if err := s.register(); err != nil {
		m.disconnect()
		return nil, err
	}
	if err := s.init(ctx, true); err != nil {
		m.disconnect()
		return nil, err
	}
	return s, nil
}

// disconnect closes the port and waits for the at pipeline to stop reading.
func (m *Modem) disconnect() {
	m.mu.Lock()
	port, a := m.port, m.at
	m.port, m.at, m.sess = nil, nil, nil
	m.mu.Unlock()
	if port == nil {
		return
	}
	port.Close() // unblocks the Read of at's lineReader
	select {
	case <-a.Closed():
	case <-time.After(5 * time.Second):
		m.log.Error("modem: at pipeline did not stop after the port closed")
	}
}

func (m *Modem) current() *at.AT {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.at
}

// Command sends one AT command (without the "AT" prefix, e.g. "+CSIM=10,...")
// and returns the information lines of the answer. Modem errors come back
// wrapped: errors.As(err, new(at.CMEError)) / at.CMSError, errors.Is(err,
// at.ErrError).
func (m *Modem) Command(ctx context.Context, cmd string) ([]string, error) {
	a := m.current()
	if a == nil {
		return nil, ErrNotConnected
	}
	return m.command(ctx, a, cmd, m.cfg.CommandTimeout)
}

func (m *Modem) command(ctx context.Context, a *at.AT, cmd string, timeout time.Duration) ([]string, error) {
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < timeout {
			timeout = d
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	type result struct {
		info []string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		// Bounded by timeout, or by the port closing.
		info, err := a.Command(cmd, at.WithTimeout(timeout))
		ch <- result{info, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return r.info, fmt.Errorf("AT%s: %w", cmd, r.err)
		}
		return r.info, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// IMEI returns the modem's IMEI (+CGSN).
func (m *Modem) IMEI(ctx context.Context) (string, error) {
	return m.digits(ctx, "+CGSN")
}

// IMSI returns the SIM's IMSI (+CIMI).
func (m *Modem) IMSI(ctx context.Context) (string, error) {
	return m.digits(ctx, "+CIMI")
}

func (m *Modem) digits(ctx context.Context, cmd string) (string, error) {
	info, err := m.Command(ctx, cmd)
	if err != nil {
		return "", err
	}
	for _, l := range info {
		l = strings.TrimSpace(strings.TrimPrefix(l, cmd+":"))
		l = strings.Trim(l, `"`)
		if len(l) >= 6 && len(l) <= 17 && isDigits(l) {
			return l, nil
		}
	}
	return "", fmt.Errorf("AT%s: no number in answer %q", cmd, info)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// SIMStatus returns the +CPIN? code ("READY", "SIM PIN", "SIM PUK", ...).
func (m *Modem) SIMStatus(ctx context.Context) (string, error) {
	a := m.current()
	if a == nil {
		return "", ErrNotConnected
	}
	return m.simStatus(ctx, a)
}

// SIMReady returns nil when the SIM is ready, an error wrapping
// ErrSIMNotReady (with the +CPIN code, never a PIN) otherwise.
func (m *Modem) SIMReady(ctx context.Context) error {
	st, err := m.SIMStatus(ctx)
	if err != nil {
		return err
	}
	if st != "READY" {
		return fmt.Errorf("%w: %s", ErrSIMNotReady, st)
	}
	return nil
}

func (m *Modem) simStatus(ctx context.Context, a *at.AT) (string, error) {
	m.cpinTokens.Add(1)
	info, err := m.command(ctx, a, "+CPIN?", m.cfg.CommandTimeout)
	for _, l := range info {
		if v, ok := strings.CutPrefix(l, "+CPIN:"); ok {
			// The +CPIN indication handler consumes the token.
			return strings.TrimSpace(v), nil
		}
	}
	m.untoken()
	if err != nil {
		return "", err
	}
	return "", fmt.Errorf("AT+CPIN?: no +CPIN line in answer %q", info)
}

func (m *Modem) untoken() {
	for {
		v := m.cpinTokens.Load()
		if v <= 0 || m.cpinTokens.CompareAndSwap(v, v-1) {
			return
		}
	}
}

// takeToken reports whether a +CPIN line was the answer to our own query.
func (m *Modem) takeToken() bool {
	for {
		v := m.cpinTokens.Load()
		if v <= 0 {
			return false
		}
		if m.cpinTokens.CompareAndSwap(v, v-1) {
			return true
		}
	}
}
