// Package device builds the agent's management tree for this device in one
// place (OpenTree), so the daemon, the session CLI and the tree/bootstrap
// CLI see the same tree: the persisted snapshot under the state directory,
// the DevInfo and DevDetail providers (OMA-TS-DM_StdObj-V1_2 DevInfo and
// DevDetail; packages csp/devinfo and csp/devdetail) fed from the [device]
// configuration, and the DMAcc DDF (csp/dmacc).
//
// Invariants: the state directory is created 0700; the snapshot file is
// written 0600 atomically by tree/store.File. OpenTree starts no goroutines;
// the returned Tree is safe for concurrent use.
package device
