// Package metrics renders the agent's counters and gauges in the
// Prometheus text exposition format, version 0.0.4 (the format
// node_exporter's textfile collector and every Prometheus scraper read:
// "# HELP" and "# TYPE" lines, then one sample per line,
// name{label="value",...} value), and keeps a textfile of them current.
//
// No OMA specification covers fleet metrics; this fills the gap named in
// field.md Part F item 6 (counters for sessions, authentication failures,
// retries and the last success). The metric names, their labels and their
// meaning are a public contract, listed in README.md; change them only
// with a note in the changelog.
//
// Invariants:
//   - Render is deterministic: families in a fixed order, servers and label
//     values sorted, so an unchanged state renders to identical bytes.
//   - Label values are escaped as the format requires (backslash, double
//     quote, newline); names are fixed in this package.
//   - Nothing secret is rendered: ServerIDs, states and counts only.
//   - Textfile writes are atomic (temporary file in the same directory,
//     then rename), mode 0644, and only when the rendering changed; a
//     failed write leaves the previous file in place and is retried.
//
// LastSuccess keeps the last successful session per server in a 0600 JSON
// file beside the tree, merged into each rendering, so that the
// last-success gauge survives an agent restart (counters restart at zero,
// as Prometheus counters may).
//
// Goroutines: Textfile.Run owns its own goroutine (the caller's); Kick is
// safe from any goroutine and never blocks.
package metrics
