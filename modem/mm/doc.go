// Package mm receives the agent's WAP pushes (OMA DM Package #0 and
// bootstraps) through ModemManager's D-Bus API, for gateways where
// ModemManager owns the modem's AT ports and the serial path of package
// modem cannot open them (field.md Part F item 10).
//
// ModemManager D-Bus API (1.x, "org.freedesktop.ModemManager1" on the system
// bus in production):
//   - org.freedesktop.DBus.ObjectManager on /org/freedesktop/ModemManager1:
//     GetManagedObjects finds the modems (objects with
//     org.freedesktop.ModemManager1.Modem.Messaging); InterfacesAdded
//     triggers a rescan so a modem that appears later or is re-plugged is
//     picked up.
//   - org.freedesktop.ModemManager1.Modem.Messaging: List() (messages stored
//     while the agent was down), the Added(o path, b received) signal, and
//     Delete(o path), which also deletes the message from the modem storage
//     (AT+CMGD).
//   - org.freedesktop.ModemManager1.Sms: State (MM_SMS_STATE_RECEIVED = 3;
//     RECEIVING = 2 while a multipart message is incomplete, followed by
//     PropertiesChanged), PduType (MM_SMS_PDU_TYPE_DELIVER = 1), Number,
//     Timestamp (ISO 8601) and Data (ay): the 8-bit user data with the UDH
//     already stripped.
//   - org.freedesktop.DBus NameOwnerChanged for org.freedesktop.ModemManager1:
//     while ModemManager is absent Serve waits for it.
//
// Specifications: WAP-230-WSP §8.2.4 (connectionless Push PDU, decoded by
// package wappush), OMA-TS-DM_Notification §6.3 (Package #0 in a WSP push,
// content type application/vnd.syncml.notification, well-known 0x44),
// OMA-TS-DM_Bootstrap §3.1 (application/vnd.syncml.dm+wbxml 0x42,
// application/vnd.wap.connectivity-wbxml 0x36), 3GPP TS 23.040 §9.2.3.24
// (the UDH ModemManager strips).
//
// Because ModemManager does not expose the WDP ports of the UDH, the
// destination port 2948 cannot be checked as the serial path does: a
// message is ours when its Data decodes as a WSP Push/ConfirmedPush whose
// content type is in Config.ContentTypes.
//
// Observed with the real ModemManager 1.20.4 (tests in this package, fake
// AT modem, see mmtest):
//   - +CMTI → AT+CMGR → an Sms object with Data = the WSP bytes, UDH
//     stripped; Timestamp like "2026-11-21T10:00:00Z".
//   - A concatenated 8-bit push (IEI 0x00 plus the port IE) is reassembled:
//     the object appears at the first segment with State 2 (receiving) and
//     empty Data, and turns to State 3 with the whole WSP PDU in Data when
//     the last segment arrives (out of order works); Delete frees every
//     segment's storage slot. A push whose segments never all arrive stays
//     "receiving" in ModemManager; it is never delivered nor deleted here.
//   - Messaging.Delete issues AT+CMGD for the stored parts.
//   - +CMTI lines arriving together (one read, or a few ms apart) are not
//     all processed: three in one burst gave one Sms object, 5 ms apart two,
//     50 ms apart three. A missed message stays in the SIM storage and
//     ModemManager lists it again only when it re-reads the storage (the
//     next modem enable); the Source cannot see it before.
//
// Invariants:
//   - A push is deleted (Messaging.Delete) only after the Handler returned
//     nil; a refused push stays in ModemManager and is offered again after
//     Config.RetryInterval (or at the next Serve). Messages that are not
//     ours (text, other WAP content, outgoing) are never deleted or touched.
//   - A message whose Delete failed is remembered and not delivered twice.
//   - Bounded memory: signals only set a one-slot "rescan" flag; the sets of
//     handled and refused SMS paths are pruned to what ModemManager still
//     lists at every scan.
//   - No polling: with no traffic Serve sleeps in one select; timers exist
//     only for a refused push or while ModemManager is failing.
//   - The library never logs on its own: Config.Logger (nil discards).
//
// Goroutine ownership: Serve owns the scan state; one watcher goroutine
// (ended with Serve) turns godbus signals into the rescan flag. Only one
// Serve may run per Source (ErrBusy). The *dbus.Conn is shared and not
// closed by the Source.
package mm
