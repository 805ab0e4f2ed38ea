// Package metricstest runs the real Prometheus node_exporter (Debian's
// prometheus-node-exporter, 1.5 here) with only its textfile collector, for
// tests that check what a real collector makes of the agent's metrics file
// (Prometheus text exposition format 0.0.4), and parses what it serves.
//
// StartNodeExporter picks a free loopback port, waits until /metrics
// answers, and kills the process by PID when the test ends; a missing
// binary fails the test and says to run `make deps`. Parse is a small
// reader of the text format (comments skipped, quoted label values with
// escapes, optional timestamp) used as the other side of the agent's
// renderer in tests and in its fuzz target.
package metricstest
