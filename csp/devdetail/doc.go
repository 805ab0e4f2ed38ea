// Package devdetail is the read-only provider of ./DevDetail, the DevDetail
// management object (urn:oma:mo:oma-dm-devdetail:1.0) of
// OMA-TS-DM_StdObj-V1_2 §5.2 (DevDetail; protocol.md §6.2), which servers read
// with Get.
//
// Nodes and where their values come from (config [device] first):
//
//	URI/MaxDepth, URI/MaxTotLen, URI/MaxSegLen  Config.Limits (the tree's tree.Limits), decimal, 0 = unlimited
//	DevTyp  dev_type, default "gateway"
//	OEM     oem, default empty
//	FwV     fw_version, else os-release IMAGE_VERSION, else VERSION_ID, else the kernel release (uname -r)
//	SwV     sw_version, else os-release PRETTY_NAME, else "NAME VERSION_ID", else "Linux <release>"
//	HwV     hw_version, else the uname machine (e.g. armv7l)
//	LrgObj  true (format bool) unless Config.LrgObj says otherwise
//
// Bearer/ and Ext/ are not served. Values are computed once by New (the
// firmware does not change under a running agent), so the provider holds no
// mutable state and is safe for concurrent use. It implements only Get and
// Describe: changes get 405 from the tree and it is not Transactional. It
// starts no goroutines.
package devdetail
