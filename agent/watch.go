package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"

	"github.com/omadm-agent/omadm-agent/agent/config"
)

// WatchConfig configures Agent.Watch.
type WatchConfig struct {
	// ConfigPath is the main configuration file; it and the conf.d
	// drop-ins beside it are watched. "" disables config watching.
	ConfigPath string
	// SpoolDir is the spool (created 0700 with done/ and failed/). ""
	// disables the spool.
	SpoolDir string
	// Debounce delays a reload after the last config file event (editors
	// write several events); default 300ms.
	Debounce time.Duration
	// Ready, if set, is closed once the watches are in place and the files
	// already in the spool were processed (or when Watch fails early).
	Ready chan<- struct{}

	markReady func()
}

// Spool file size limits.
const (
	maxSpoolPkg0      = 64 << 10
	maxSpoolBootstrap = 1 << 20
)

// Spool file kinds by suffix.
func spoolKind(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".pkg0", ".bin":
		return KindNotification
	case ".wbxml", ".xml":
		return KindBootstrap
	}
	return ""
}

// Watch runs the file watcher until ctx ends (it returns nil then): config
// changes are reloaded through Reload (what can change live is applied, the
// rest is logged and ignored), and complete files in the spool directory
// are processed with ProcessData, then moved to done/ or failed/ with a
// .reason file. Files already in the spool when Watch starts are processed
// first.
//
// A spool file is complete when it is renamed into the directory (write a
// dot-file or a file in another directory of the same file system, then
// rename: the documented way) or when a writer closes it (IN_CLOSE_WRITE).
// The spool uses inotify directly because fsnotify v1.10 keeps its
// close-write event unexported. Names starting with "." and unknown
// suffixes are left alone.
//
// Spool trust: a Package #0 file is verified exactly like a pushed one. A
// bootstrap file is local operator input (like "omadm-agent bootstrap
// FILE") and needs no SEC/MAC, but only when it is owned by root or the
// agent's own user (the spool lives in the 0700 state directory);
// otherwise it is refused.
func (a *Agent) Watch(ctx context.Context, wc WatchConfig) error {
	if wc.Debounce <= 0 {
		wc.Debounce = 300 * time.Millisecond
	}
	if wc.Ready != nil {
		var once sync.Once
		ready := wc.Ready
		markReady := func() { once.Do(func() { close(ready) }) }
		defer markReady()
		wc.markReady = markReady
	}
	var spool <-chan string
	var spoolErr <-chan error
	if wc.SpoolDir != "" {
		for _, d := range []string{wc.SpoolDir, filepath.Join(wc.SpoolDir, "done"), filepath.Join(wc.SpoolDir, "failed")} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return fmt.Errorf("spool: %w", err)
			}
		}
		names := make(chan string, 64)
		errc := make(chan error, 1)
		if err := inotifySpool(ctx, wc.SpoolDir, names, errc); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		spool, spoolErr = names, errc
		a.sweepSpool(ctx, wc.SpoolDir)
	}

	var events <-chan fsnotify.Event
	var werrs <-chan error
	var dir, dropins string
	var w *fsnotify.Watcher
	if wc.ConfigPath != "" {
		var err error
		w, err = fsnotify.NewWatcher()
		if err != nil {
			return fmt.Errorf("config watch: %w", err)
		}
		defer w.Close()
		dir, dropins = filepath.Dir(wc.ConfigPath), config.DropInDir(wc.ConfigPath)
		if err := w.Add(dir); err != nil {
			a.log.Warn("configuration directory not watched; use SIGHUP to reload", "dir", dir, "err", err)
		}
		_ = w.Add(dropins) // may not exist yet; added when created
		events, werrs = w.Events, w.Errors
	}
	if wc.markReady != nil {
		wc.markReady()
	}

	var debounce *time.Timer
	var debounceC <-chan time.Time
	defer func() {
		if debounce != nil {
			debounce.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case name := <-spool:
			a.processSpoolFile(ctx, wc.SpoolDir, name)
		case err := <-spoolErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("spool: %w", err)
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			name := filepath.Clean(ev.Name)
			if name == dropins && ev.Has(fsnotify.Create) {
				_ = w.Add(dropins)
			}
			relevant := name == filepath.Clean(wc.ConfigPath) || name == dropins ||
				(filepath.Dir(name) == dropins && strings.HasSuffix(name, ".toml") && !strings.HasPrefix(filepath.Base(name), "."))
			if !relevant || ev.Op == fsnotify.Chmod {
				continue
			}
			if debounce == nil {
				debounce = time.NewTimer(wc.Debounce)
			} else {
				debounce.Reset(wc.Debounce)
			}
			debounceC = debounce.C
		case err, ok := <-werrs:
			if !ok {
				werrs = nil
				continue
			}
			a.log.Warn("configuration watch error", "err", err)
		case <-debounceC:
			debounceC = nil
			a.log.Info("configuration files changed; reloading")
			if _, err := a.Reload(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrStopped) {
				// Reload already logged the problems.
				continue
			}
		}
	}
}

// sweepSpool processes the files already in the spool, oldest name first.
func (a *Agent) sweepSpool(ctx context.Context, dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		a.log.Warn("spool not readable", "dir", dir, "err", err)
		return
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		a.processSpoolFile(ctx, dir, n)
	}
}

// processSpoolFile handles one complete spool file.
func (a *Agent) processSpoolFile(ctx context.Context, dir, name string) {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".reason") {
		return
	}
	kind := spoolKind(name)
	if kind == "" {
		a.log.Debug("spool: ignoring a file with an unknown suffix", "file", name)
		return
	}
	path := filepath.Join(dir, name)
	fail := func(reason string) { a.moveSpool(dir, name, "failed", reason) }
	fi, err := os.Lstat(path)
	if err != nil {
		return // already gone (processed by the sweep, or removed)
	}
	if !fi.Mode().IsRegular() {
		fail("not a regular file")
		return
	}
	limit := int64(maxSpoolPkg0)
	if kind == KindBootstrap {
		limit = maxSpoolBootstrap
	}
	if fi.Size() > limit {
		fail(fmt.Sprintf("too large: %d bytes (limit %d)", fi.Size(), limit))
		return
	}
	local := false
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		local = st.Uid == 0 || int(st.Uid) == os.Getuid()
	}
	f, err := os.Open(path)
	if err != nil {
		fail(err.Error())
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	f.Close()
	if err != nil {
		fail(err.Error())
		return
	}
	d, ids, err := a.ProcessData(ctx, data, kind, local, "spool")
	if err != nil && ctx.Err() != nil {
		return // stopping: leave the file for the next start
	}
	if err != nil {
		reason := d.Reason
		if reason == "" {
			reason = err.Error()
		} else {
			reason = d.Action.String() + ": " + reason
		}
		a.log.Warn("spool file refused", "file", name, "reason", reason)
		fail(reason)
		return
	}
	a.log.Info("spool file processed", "file", name, "action", d.Action.String(), "triggers", strings.Join(ids, ","))
	a.moveSpool(dir, name, "done", d.Action.String()+": "+d.Reason+"\ntriggers: "+strings.Join(ids, ","))
}

// moveSpool moves dir/name into dir/sub and writes name.reason beside it.
func (a *Agent) moveSpool(dir, name, sub, reason string) {
	dst := filepath.Join(dir, sub, name)
	if _, err := os.Lstat(dst); err == nil {
		dst = filepath.Join(dir, sub, fmt.Sprintf("%s.%d", name, time.Now().UnixNano()))
	}
	if err := os.Rename(filepath.Join(dir, name), dst); err != nil {
		a.log.Warn("spool: cannot move file", "file", name, "to", sub, "err", err)
		return
	}
	if err := os.WriteFile(dst+".reason", []byte(reason+"\n"), 0o600); err != nil {
		a.log.Warn("spool: cannot write reason file", "file", dst+".reason", "err", err)
	}
}

// inotifySpool watches dir for files closed after writing or moved in and
// sends their names on out until ctx ends. The reader goroutine exits when
// ctx ends (closing the inotify file unblocks it).
func inotifySpool(ctx context.Context, dir string, out chan<- string, errc chan<- error) error {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		return fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	f := os.NewFile(uintptr(fd), "inotify:"+dir)
	go func() {
		<-ctx.Done()
		f.Close()
	}()
	go func() {
		buf := make([]byte, 16*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				if ctx.Err() == nil {
					select {
					case errc <- err:
					default:
					}
				}
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				mask := binary.NativeEndian.Uint32(buf[off+4:])
				l := int(binary.NativeEndian.Uint32(buf[off+12:]))
				nameb := buf[off+unix.SizeofInotifyEvent : min(n, off+unix.SizeofInotifyEvent+l)]
				off += unix.SizeofInotifyEvent + l
				if mask&unix.IN_ISDIR != 0 || mask&(unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO) == 0 {
					continue
				}
				name := string(bytes.TrimRight(nameb, "\x00"))
				select {
				case out <- name:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return nil
}
