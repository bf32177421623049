package spec

import (
	"reflect"
	"testing"
)

func TestParsePortSpec(t *testing.T) {
	tcp := func(target, published uint16, ip string) Port {
		return Port{Target: target, Published: published, HostIP: ip, Protocol: "tcp"}
	}
	tests := []struct {
		in   string
		want []Port
		err  string
	}{
		{in: "80", want: []Port{tcp(80, 0, "")}},
		{in: "8080:80", want: []Port{tcp(80, 8080, "")}},
		{in: "3000-3002", want: []Port{tcp(3000, 0, ""), tcp(3001, 0, ""), tcp(3002, 0, "")}},
		{in: "9090-9091:8080-8081", want: []Port{tcp(8080, 9090, ""), tcp(8081, 9091, "")}},
		{in: "127.0.0.1:8001:8001", want: []Port{tcp(8001, 8001, "127.0.0.1")}},
		{in: "127.0.0.1::5000", want: []Port{tcp(5000, 0, "127.0.0.1")}},
		{in: "127.0.0.1:5000-5001:6000-6001", want: []Port{tcp(6000, 5000, "127.0.0.1"), tcp(6001, 5001, "127.0.0.1")}},
		{in: "[::1]:6001:6001", want: []Port{tcp(6001, 6001, "::1")}},
		{in: "::1:6001:6001", want: []Port{tcp(6001, 6001, "::1")}},
		{in: "0:80", want: []Port{tcp(80, 0, "")}},
		{in: "53:53/udp", want: []Port{{Target: 53, Published: 53, Protocol: "udp"}}},
		{in: "53:53/TCP", want: []Port{tcp(53, 53, "")}},
		{in: "", err: `invalid port "": want a number from 1 to 65535`},
		{in: "0", err: `invalid port "0": want a number from 1 to 65535`},
		{in: "65536", err: `invalid port "65536": want a number from 1 to 65535`},
		{in: "80:80:80:80", err: `invalid host IP "80:80"`},
		{in: "8000-8010:80", err: "host port range 8000-8010 and container port range 80 differ in length"},
		{in: "80:8000-8001", err: "host port range 80 and container port range 8000-8001 differ in length"},
		{in: "90-80", err: `port range "90-80" ends before it starts`},
		{in: "80/sctp", err: `unsupported protocol "sctp" (tcp or udp)`},
		{in: "[::1]6001:6001", err: `invalid port "[::1]6001:6001": want [IPv6]:HOST:CONTAINER`},
		{in: "[::1]:6001", err: `invalid port "[::1]:6001": want [IPv6]:HOST:CONTAINER`},
	}
	for _, tt := range tests {
		got, err := parsePortSpec(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("parsePortSpec(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parsePortSpec(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseExpose(t *testing.T) {
	got, err := parseExpose("8000-8001/udp")
	want := []Port{{Target: 8000, Protocol: "udp"}, {Target: 8001, Protocol: "udp"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseExpose = %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseExpose("x"); err == nil {
		t.Error("parseExpose(x): want an error")
	}
}
