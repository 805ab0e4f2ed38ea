package fumo

import (
	"context"
	"time"
)

// The reboot into the installed slot waits for Config.Window (package
// csp/window): installing into RAUC's inactive slot does not disturb the
// gateway, the reboot does. The job stays in PhaseInstalled (State 60)
// with Job.NotBefore set to the window's next opening; the window
// goroutine re-reads the clock every Config.WindowCheck (a clock set late
// by NTP moves NotBefore, which is persisted again) and calls
// Config.Reboot once the window is open.

// rebootOrWait runs in the worker for an installed job in the boot it was
// installed in: it calls Config.Reboot now when Window is open (once per
// process), else sets j.NotBefore, which the worker persists before it
// starts the window goroutine. Without Config.Reboot nothing waits.
func (p *Provider) rebootOrWait(ctx context.Context, j *Job) {
	p.mu.Lock()
	switch {
	case p.cfg.Reboot == nil || p.rebooted:
		j.NotBefore = time.Time{}
		p.mu.Unlock()
		return
	case p.waiting:
		// The window goroutine of this process is waiting (a second
		// Resume): keep its NotBefore.
		if cur := p.st.Job; cur != nil {
			j.NotBefore = cur.NotBefore
		}
		p.mu.Unlock()
		return
	}
	now := p.cfg.Now()
	if !p.cfg.Window.Open(now) {
		j.NotBefore = p.cfg.Window.Next(now).UTC()
		p.msg = "installed into slot " + j.TargetSlot + "; reboot at " + j.NotBefore.Format(time.RFC3339) + " (maintenance window)"
		p.mu.Unlock()
		return
	}
	j.NotBefore = time.Time{}
	p.rebooted = true
	p.mu.Unlock()
	if err := p.cfg.Reboot(ctx); err != nil && ctx.Err() == nil {
		p.setMsg("reboot: " + err.Error())
	}
}

// startWindowLocked starts the window goroutine for the installed job
// started at started, unless it runs or Reboot was already called.
func (p *Provider) startWindowLocked(started time.Time) {
	if p.waiting || p.closed || p.rebooted || p.cfg.Reboot == nil {
		return
	}
	p.waiting = true
	p.wwg.Add(1)
	go p.windowWait(started)
}

// windowWait waits until Config.Window is open, keeping Job.NotBefore up
// to date, then calls Config.Reboot. It ends early when Close cancels it
// or the job is no longer the installed job started at started.
func (p *Provider) windowWait(started time.Time) {
	defer p.wwg.Done()
	defer func() {
		p.mu.Lock()
		p.waiting = false
		p.mu.Unlock()
	}()
	ctx := p.base
	// stillWaiting reports whether the installed job started at started is
	// still the one to reboot for; p.mu held.
	stillWaiting := func() bool {
		j := p.st.Job
		return ctx.Err() == nil && !p.rebooted && j != nil && j.Phase == PhaseInstalled && j.Started.Equal(started)
	}
	// setNotBefore records when the reboot will happen (zero: now); p.mu
	// held. A failed save only loses the new time across a restart, which
	// recomputes it.
	setNotBefore := func(at time.Time) {
		j := p.st.Job
		if at.Equal(j.NotBefore) {
			return
		}
		jj := *j
		jj.NotBefore = at
		st := p.st
		st.Job = &jj
		if err := saveState(p.cfg.Dir, st); err != nil {
			p.msg = err.Error()
		}
		p.st = st
	}
	open := p.cfg.Window.Wait(ctx, p.cfg.Now, p.cfg.WindowCheck, func(next time.Time) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !stillWaiting() {
			return false
		}
		setNotBefore(next.UTC())
		return true
	})
	if !open {
		return
	}
	p.mu.Lock()
	if !stillWaiting() {
		p.mu.Unlock()
		return
	}
	setNotBefore(time.Time{})
	p.rebooted = true
	p.mu.Unlock()
	if err := p.cfg.Reboot(ctx); err != nil && ctx.Err() == nil {
		p.setMsg("reboot: " + err.Error())
	}
}

// rebootAtLocked is Job.NotBefore of an installed job, else zero.
func (p *Provider) rebootAtLocked() time.Time {
	if j := p.st.Job; j != nil && j.Phase == PhaseInstalled {
		return j.NotBefore
	}
	return time.Time{}
}
