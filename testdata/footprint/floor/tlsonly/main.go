// Command tlsonly is a size floor for measure.sh: an HTTPS POST written by
// hand over crypto/tls (no net/http), plus flag/fmt/os. The difference to
// floor/nethttp is what net/http itself costs.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:443", "host:port")
	ca := flag.String("ca", "", "CA file")
	flag.Parse()
	pool := x509.NewCertPool()
	if b, err := os.ReadFile(*ca); err == nil {
		pool.AppendCertsFromPEM(b)
	}
	conn, err := tls.Dial("tcp", *addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	body := []byte{2, 0xa4, 1, 0x6a, 0}
	fmt.Fprintf(conn, "POST /dm HTTP/1.1\r\nHost: %s\r\nContent-Type: application/vnd.syncml.dm+wbxml\r\nContent-Length: %d\r\n\r\n", *addr, len(body))
	conn.Write(body)
	line, _ := bufio.NewReader(conn).ReadString('\n')
	fmt.Print(line)
	io.Copy(io.Discard, conn)
}
