// Package store persists the DM management tree (OMA-TS-DM_TND-V1_2 §6) as one
// snapshot: File writes it atomically (temp file in the same directory, fsync,
// rename, fsync of the directory; mode 0600) and skips the write when the
// encoded bytes are unchanged, to spare flash; Mem keeps it in memory.
//
// The snapshot format (see keys.go) is a compact binary record stream with a
// magic, a schema version and a CRC-32, designed to load 100,000 nodes well
// under 300 ms. Values of secret nodes are stored (the agent needs them) but
// the package never prints or logs record contents. The package starts no
// goroutines; a Store is safe for use by one goroutine at a time (the tree
// serialises access).
package store
