// Package fumo is the provider of the firmware update management object,
// OMA FUMO 1.0 (OMA-TS-DM-FUMO-V1_0, MO identifier urn:oma:mo:oma-fumo:1.0;
// §5 the FUMO tree and §10.1 its DDF, the State values of §6 and the
// Generic Alert result codes of §6.2 / §10.1; protocol.md §6.9), backed by
// RAUC over D-Bus (de.pengutronix.rauc.Installer as shipped by rauc-service
// 1.8: InstallBundle(s, a{sv}), Info(s), GetSlotStatus(), the Progress,
// LastError, Operation and BootSlot properties and the Completed(i)
// signal).
//
// Draft: see the rest of this comment in the final version.
package fumo
