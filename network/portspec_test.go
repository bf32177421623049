package network

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func TestParsePortSpec(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		spec string
		want []Port
	}{
		{"80", []Port{{ContainerPort: 80, Protocol: "tcp"}}},
		{"53/udp", []Port{{ContainerPort: 53, Protocol: "udp"}}},
		{"8080:80", []Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}},
		{"127.0.0.1:8080:80/udp", []Port{{HostIP: lo, HostPort: 8080, ContainerPort: 80, Protocol: "udp"}}},
		{"127.0.0.1::80", []Port{{HostIP: lo, ContainerPort: 80, Protocol: "tcp"}}},
		{"8000-8002:80-82", []Port{
			{HostPort: 8000, ContainerPort: 80, Protocol: "tcp"},
			{HostPort: 8001, ContainerPort: 81, Protocol: "tcp"},
			{HostPort: 8002, ContainerPort: 82, Protocol: "tcp"}}},
		{"80-81", []Port{{ContainerPort: 80, Protocol: "tcp"}, {ContainerPort: 81, Protocol: "tcp"}}},
	}
	for _, tt := range tests {
		got, err := ParsePortSpec(tt.spec)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePortSpec(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "0", "70000", "80/sctp", "8000-8001:80", "x:80:80", "::1:80:80", "82-80", "1:2:3:4", "a:80"} {
		if got, err := ParsePortSpec(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePortSpec(%q) = %+v, %v; want ErrInvalid", bad, got, err)
		}
	}
}

func TestPortString(t *testing.T) {
	p := Port{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}
	if s := p.String(); s != "80/tcp -> 0.0.0.0:8080" {
		t.Fatalf("String = %q", s)
	}
	p.HostIP = netip.MustParseAddr("127.0.0.1")
	if s := p.String(); s != "80/tcp -> 127.0.0.1:8080" {
		t.Fatalf("String = %q", s)
	}
}

func TestPortOverlaps(t *testing.T) {
	any80 := Port{HostPort: 80, Protocol: "tcp"}
	lo80 := Port{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 80, Protocol: "tcp"}
	other80 := Port{HostIP: netip.MustParseAddr("127.0.0.2"), HostPort: 80, Protocol: "tcp"}
	udp80 := Port{HostPort: 80, Protocol: "udp"}
	if !any80.overlaps(lo80) || !lo80.overlaps(any80) || lo80.overlaps(other80) || any80.overlaps(udp80) {
		t.Fatal("overlaps is wrong")
	}
}
