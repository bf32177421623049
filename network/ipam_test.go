package network

import (
	"errors"
	"net/netip"
	"testing"
)

func mp(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ma(s string) netip.Addr   { return netip.MustParseAddr(s) }

func TestPlanSubnet(t *testing.T) {
	tests := []struct {
		name string
		used []netip.Prefix
		want string
	}{
		{"empty host", nil, "10.89.0.0/24"},
		{"docker and host routes do not collide", []netip.Prefix{mp("172.17.0.0/16"), mp("192.0.2.0/24")}, "10.89.0.0/24"},
		{"first taken", []netip.Prefix{mp("10.89.0.0/24")}, "10.89.1.0/24"},
		{"part of a /24 taken", []netip.Prefix{mp("10.89.0.128/25"), mp("10.89.1.7/32")}, "10.89.2.0/24"},
		{"wide route covers a pool", []netip.Prefix{mp("10.89.0.0/16")}, "10.90.0.0/24"},
		{"a /8 covers every pool", []netip.Prefix{mp("10.0.0.0/8")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PlanSubnet(DefaultPools, DefaultSubnetBits, tt.used)
			if tt.want == "" {
				if !errors.Is(err, ErrExhausted) {
					t.Fatalf("PlanSubnet = %v, %v; want ErrExhausted", got, err)
				}
				return
			}
			if err != nil || got != mp(tt.want) {
				t.Fatalf("PlanSubnet = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestPlanSubnetInvalidPool(t *testing.T) {
	if _, err := PlanSubnet([]netip.Prefix{mp("10.0.0.0/24")}, 16, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a /16 out of a /24 pool: err = %v, want ErrInvalid", err)
	}
}

func TestCheckSubnet(t *testing.T) {
	used := []netip.Prefix{mp("10.89.0.0/24")}
	tests := []struct {
		subnet, gw string
		want       string
		err        error
	}{
		{"192.168.77.0/24", "", "192.168.77.1", nil},
		{"192.168.77.0/24", "192.168.77.254", "192.168.77.254", nil},
		{"192.168.77.0/24", "192.168.77.255", "", ErrInvalid},
		{"192.168.77.0/24", "192.168.78.1", "", ErrInvalid},
		{"192.168.77.1/24", "", "", ErrInvalid},
		{"10.89.0.0/16", "", "", ErrSubnetConflict},
		{"fd00::/64", "", "", ErrInvalid},
		{"10.1.1.0/31", "", "", ErrInvalid},
	}
	for _, tt := range tests {
		var gw netip.Addr
		if tt.gw != "" {
			gw = ma(tt.gw)
		}
		got, err := CheckSubnet(mp(tt.subnet), gw, used)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("CheckSubnet(%s, %s) err = %v, want %v", tt.subnet, tt.gw, err, tt.err)
			}
			continue
		}
		if err != nil || got != ma(tt.want) {
			t.Errorf("CheckSubnet(%s, %s) = %v, %v; want %s", tt.subnet, tt.gw, got, err, tt.want)
		}
	}
}

func TestAllocate(t *testing.T) {
	subnet, gw := mp("10.89.3.0/29"), ma("10.89.3.1") // hosts .1-.6, .1 is the gateway
	leased := map[netip.Addr]bool{}
	taken := func(a netip.Addr) bool { return leased[a] }
	var last netip.Addr
	var got []netip.Addr
	for i := 0; i < 5; i++ {
		a, err := Allocate(subnet, gw, last, netip.Addr{}, taken)
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		if leased[a] {
			t.Fatalf("allocation %d: %s handed out twice", i, a)
		}
		leased[a], last = true, a
		got = append(got, a)
	}
	want := []netip.Addr{ma("10.89.3.2"), ma("10.89.3.3"), ma("10.89.3.4"), ma("10.89.3.5"), ma("10.89.3.6")}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocations = %v, want %v", got, want)
		}
	}
	if a, err := Allocate(subnet, gw, last, netip.Addr{}, taken); !errors.Is(err, ErrExhausted) {
		t.Fatalf("full subnet: got %v, %v; want ErrExhausted", a, err)
	}

	// Release .3 and .5: the next search starts after the last one handed out (.6), wraps,
	// and finds .3 first; a preferred free address wins over the search.
	delete(leased, ma("10.89.3.3"))
	delete(leased, ma("10.89.3.5"))
	if a, _ := Allocate(subnet, gw, last, netip.Addr{}, taken); a != ma("10.89.3.3") {
		t.Fatalf("after wrap got %v, want 10.89.3.3", a)
	}
	if a, _ := Allocate(subnet, gw, last, ma("10.89.3.5"), taken); a != ma("10.89.3.5") {
		t.Fatalf("preferred free address: got %v, want 10.89.3.5", a)
	}
	// A preferred address that is taken, the gateway, or outside the subnet is ignored.
	for _, p := range []string{"10.89.3.2", "10.89.3.1", "10.89.3.7", "10.89.9.9"} {
		a, err := Allocate(subnet, gw, last, ma(p), taken)
		if err != nil || a == ma(p) {
			t.Errorf("prefer %s: got %v, %v", p, a, err)
		}
	}
}

func TestAllocateReusesLate(t *testing.T) {
	subnet, gw := mp("10.89.4.0/24"), ma("10.89.4.1")
	leased := map[netip.Addr]bool{ma("10.89.4.2"): true}
	taken := func(a netip.Addr) bool { return leased[a] }
	// .2 was released just now, .3 handed out before: the next one is .4, not .2.
	delete(leased, ma("10.89.4.2"))
	if a, _ := Allocate(subnet, gw, ma("10.89.4.3"), netip.Addr{}, taken); a != ma("10.89.4.4") {
		t.Fatalf("got %v, want 10.89.4.4", a)
	}
}

func TestBroadcast(t *testing.T) {
	if b := broadcast(mp("10.89.0.0/24")); b != ma("10.89.0.255") {
		t.Fatalf("broadcast = %v", b)
	}
}
