// Package devinfo is the read-only provider of ./DevInfo, the DevInfo
// management object (urn:oma:mo:oma-dm-devinfo:1.0) of
// OMA-TS-DM_StdObj-V1_2 §5.1 (DevInfo; protocol.md §6.1), whose leaves the
// client sends in every Package 1.
//
// Nodes: DevId, Man, Mod, DmV, Lang and, when configured, Ext/<name>.
// Defaults: Man and Mod "unknown", DmV "omadm-agent <version>", Lang
// "en-US". Bearer/ is not served.
//
// DevId, in order of preference:
//
//  1. Config.DevID, the operator's [device] dev_id, used as given (an
//     explicit setting beats detection, as agent.toml documents);
//  2. "IMEI:<imei>" when the IMEI source (the modem) returns 14 to 16
//     digits; the source is asked on every Get of DevId, so a modem plugged
//     in later is picked up;
//  3. "urn:uuid:<uuid>" where <uuid> is a version-4 UUID derived from
//     /etc/machine-id by HMAC-SHA256 keyed with the machine id over a fixed
//     application id (like systemd's app-specific machine ids), so the
//     machine id itself is not disclosed. See MachineUUID.
//
// If none works, Get of DevId fails with tree.ErrCommandFailed.
//
// The provider only implements Get and Describe: every Replace, Add or
// Delete gets 405 from the tree, and it is not Transactional (an Atomic
// touching it is refused). It holds no mutable state after New and is safe
// for concurrent use; it starts no goroutines.
package devinfo
