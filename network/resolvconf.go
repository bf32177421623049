package network

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// ResolvConf returns the resolv.conf of a container on networks whose DNS servers listen on
// gateways: one nameserver line per gateway (the network's server answers for its names and
// forwards the rest to the host's resolvers), and the host's search and options lines from
// hostResolvConf, so names outside the stack resolve as they do on the host.
func ResolvConf(gateways []netip.Addr, hostResolvConf string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# written by stack: the DNS servers of the container's networks\n")
	for _, gw := range gateways {
		fmt.Fprintf(&buf, "nameserver %s\n", gw)
	}
	f, err := os.Open(hostResolvConf)
	if os.IsNotExist(err) {
		return buf.Bytes(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", hostResolvConf, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "search ") || strings.HasPrefix(line, "domain ") || strings.HasPrefix(line, "options ") {
			buf.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", hostResolvConf, err)
	}
	return buf.Bytes(), nil
}
