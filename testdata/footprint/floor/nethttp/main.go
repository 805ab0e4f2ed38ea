// Command nethttp is a size floor for measure.sh: the smallest program that
// does what the agent's transport needs (an HTTPS POST with a custom CA pool
// through net/http), plus flag/fmt/os. Its stripped size is what any agent
// built on net/http and crypto/tls pays before its own code.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	url := flag.String("url", "https://127.0.0.1/dm", "URL")
	ca := flag.String("ca", "", "CA file")
	flag.Parse()
	pool := x509.NewCertPool()
	if b, err := os.ReadFile(*ca); err == nil {
		pool.AppendCertsFromPEM(b)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Post(*url, "application/vnd.syncml.dm+wbxml", bytes.NewReader([]byte{2, 0xa4, 1, 0x6a, 0}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, n)
}
