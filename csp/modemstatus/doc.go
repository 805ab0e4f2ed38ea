// Package modemstatus is the read-only provider of ./Vendor/omadm/Modem, a
// vendor management object (MO identifier urn:omadm-agent:mo:modem:1.0)
// that shows a DM server the cellular modem's identity, SIM and network
// state, read live from ModemManager's D-Bus API
// (org.freedesktop.ModemManager1, system bus) for gateways where
// ModemManager owns the modem.
//
// DDF (OMA-TS-DM_TND-V1_2 §7; `omadm-agent ddf` prints it from Describe):
//
//	./Vendor/omadm/Modem      node  Get  One  Permanent  Type urn:omadm-agent:mo:modem:1.0
//	    Manufacturer          chr   Get  Modem.Manufacturer
//	    Model                 chr   Get  Modem.Model
//	    Revision              chr   Get  Modem.Revision
//	    IMEI                  chr   Get  Modem.EquipmentIdentifier
//	    State                 chr   Get  Modem.State as its MMModemState name (e.g. registered)
//	    SignalQuality         int   Get  Modem.SignalQuality percentage (0-100)
//	    AccessTechnologies    chr   Get  Modem.AccessTechnologies as comma-separated names (e.g. lte)
//	    OperatorName          chr   Get  Modem.Modem3gpp.OperatorName
//	    OperatorCode          chr   Get  Modem.Modem3gpp.OperatorCode (MCC+MNC)
//	    ICCID                 chr   Get  Sim.SimIdentifier of Modem.Sim
//	    IMSI                  chr   Get  Sim.Imsi of Modem.Sim
//
// Every Get makes one ObjectManager.GetManagedObjects call (plus one
// Properties.Get on the SIM object for ICCID/IMSI) on the first modem in
// object path order; nothing is cached. With no SIM (Modem.Sim "/") ICCID
// and IMSI are empty; on a non-3GPP modem the operator leaves are empty.
//
// Errors: ModemManager absent wraps csp.ErrServiceUnavailable (a
// *csp.BusError, status 500); no modem exported is ErrNoModem (500); an
// unknown leaf is tree.ErrNotFound. Each call is bounded by a timeout
// (dbuscall.DefaultTimeout, WithTimeout). Every leaf is read-only: the tree
// refuses Replace (405) since the provider implements no Replacer.
//
// Concurrency: Get is safe for concurrent use; the package starts no
// goroutines.
package modemstatus
