// Package window parses and evaluates maintenance windows: the times of
// day (optionally on given weekdays) at which the agent may do disruptive
// work a server ordered, such as rebooting the gateway or installing a
// firmware bundle. Work ordered outside a window is accepted (the server
// gets 202) and deferred to the next window's opening.
//
// No OMA specification defines maintenance windows; OMA DM leaves the
// timing of an asynchronous Exec to the device (OMA-TS-DM_Protocol-V1_2
// §6.6.9: 202 Accepted for processing, the result follows in a Generic
// Alert). field.md Part E item 2 is why: operators ask for them.
//
// Syntax of one window: "[DAYS ]HH:MM-HH:MM", where DAYS is a weekday
// (Mon, Tue, Wed, Thu, Fri, Sat, Sun) or a range of them ("Mon-Fri",
// "Fri-Mon" wraps), and the times are local wall-clock times. A window
// whose end is not after its start crosses midnight and belongs to the day
// it starts on ("Sat 23:00-02:00" is Saturday night). "24:00" is allowed
// as an end. A Schedule is a list of windows; the empty Schedule is always
// open.
//
// Invariants: Parse never panics and names the bad window and field;
// Next(t) is never before t and Open(Next(t)) holds; times are evaluated
// in t's location, so daylight-saving changes are followed (a window time
// that falls into a gap is shifted by the gap, as time.Date does).
package window
