package e2e

import (
	"os"
	"strings"
	"testing"
)

// TestSystemObject: the daemon mounts ./Vendor/omadm/System; a server reads
// the boot id (the kernel's) and lists the subtree, which works without
// logind on the bus (only Reboot and the units need it).
func TestSystemObject(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	bootID := strings.TrimSpace(string(b))
	w := start(t, "system-object", `
recv
expect alert 1200
expect sessionid 3D
send <Get><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/omadm/System/BootID</LocURI></Target></Item></Get>
recv
expect status 1 200
expect results ./Vendor/omadm/System/BootID = `+bootID+`
send <Get><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/omadm/System?list=Struct</LocURI></Target></Item></Get>
send <Get><CmdID>3</CmdID><Item><Target><LocURI>.?list=Struct</LocURI></Target></Item></Get>
recv
expect status 2 200
expect results ./Vendor/omadm/System/Reboot format null
expect status 3 200
end
`)
	w.deliver(w.sms(w.notify(0x3D)))
	w.waitDone()
}
