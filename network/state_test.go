package network

import (
	"errors"
	"path/filepath"
	"testing"
)

// A network record written before DNSEnabled existed is read as having a DNS server, as
// every network had then; one that says false keeps false.
func TestLoadNetworkDNSEnabled(t *testing.T) {
	s := store{dir: t.TempDir()}
	writeFile(t, filepath.Join(s.dir, "old.json"), `{"name":"old","bridge":"stk-0","subnet":"10.89.0.0/24","gateway":"10.89.0.1"}`)
	writeFile(t, filepath.Join(s.dir, "plain.json"), `{"name":"plain","bridge":"stk-1","subnet":"10.89.1.0/24","gateway":"10.89.1.1","dnsEnabled":false}`)
	for name, want := range map[string]bool{"old": true, "plain": false} {
		n, err := s.loadNetwork(name)
		if err != nil {
			t.Fatal(err)
		}
		if n.DNSEnabled != want {
			t.Errorf("%s: DNSEnabled = %t, want %t", name, n.DNSEnabled, want)
		}
	}
}

// Ensure on an existing network refuses a config that asks for the other DNS setting.
func TestSameConfigDNS(t *testing.T) {
	withDNS, without := &Network{Name: "a", DNSEnabled: true}, &Network{Name: "b"}
	if err := sameConfig(withDNS, Config{Name: "a"}); err != nil {
		t.Errorf("same setting (DNS): %v", err)
	}
	if err := sameConfig(without, Config{Name: "b", DisableDNS: true}); err != nil {
		t.Errorf("same setting (no DNS): %v", err)
	}
	if err := sameConfig(withDNS, Config{Name: "a", DisableDNS: true}); !errors.Is(err, ErrExists) {
		t.Errorf("DisableDNS on a network with DNS: %v, want ErrExists", err)
	}
	if err := sameConfig(without, Config{Name: "b"}); !errors.Is(err, ErrExists) {
		t.Errorf("DNS on a network without: %v, want ErrExists", err)
	}
}
