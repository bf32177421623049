package network

import (
	"fmt"
	"net/netip"
)

// IPAM is pure: the functions in this file decide subnets and addresses from the state they
// are given and never touch the system. The Manager feeds them the routes it reads through
// netlink and the leases it keeps on disk, under its lock, and persists the result before it
// creates anything (so a crash leaves a lease that Sweep can find, never an address in use
// that no lease records).

// DefaultPools are the ranges free subnets are carved from, in order. They sit beside
// Podman's 10.88.0.0/16 and away from Docker's 172.17.0.0/16 and its 172.18+ and 192.168
// pools; PlanSubnet still checks every candidate against the host's routes, so a network
// created by either is skipped.
var DefaultPools = []netip.Prefix{
	netip.MustParsePrefix("10.89.0.0/16"),
	netip.MustParsePrefix("10.90.0.0/16"),
	netip.MustParsePrefix("10.91.0.0/16"),
}

// DefaultSubnetBits is the size of a subnet chosen from the pools: a /24 holds 253 endpoints.
const DefaultSubnetBits = 24

// PlanSubnet returns the first subnet of the given size, in pool order, that overlaps none of
// used (the host's routed prefixes and the subnets of existing networks).
func PlanSubnet(pools []netip.Prefix, bits int, used []netip.Prefix) (netip.Prefix, error) {
	for _, pool := range pools {
		pool = pool.Masked()
		if !pool.Addr().Is4() || bits < pool.Bits() || bits > 30 {
			return netip.Prefix{}, fmt.Errorf("plan subnet /%d in %s: %w", bits, pool, ErrInvalid)
		}
		step := uint32(1) << (32 - bits)
		count := uint32(1) << (bits - pool.Bits())
		base := addrToUint(pool.Addr())
		for i := uint32(0); i < count; i++ {
			cand := netip.PrefixFrom(uintToAddr(base+i*step), bits)
			if !overlapsAny(cand, used) {
				return cand, nil
			}
		}
	}
	return netip.Prefix{}, fmt.Errorf("plan subnet: every /%d of %v is in use: %w", bits, pools, ErrExhausted)
}

// CheckSubnet validates a user-given subnet and gateway: IPv4, at most a /30, the gateway
// inside it and neither its network nor its broadcast address, and no overlap with used. An
// invalid gateway returns the default (first host address).
func CheckSubnet(subnet netip.Prefix, gateway netip.Addr, used []netip.Prefix) (netip.Addr, error) {
	if !subnet.IsValid() || !subnet.Addr().Is4() || subnet.Bits() > 30 {
		return netip.Addr{}, fmt.Errorf("check subnet %s: need an IPv4 prefix of /30 or larger: %w", subnet, ErrInvalid)
	}
	if subnet != subnet.Masked() {
		return netip.Addr{}, fmt.Errorf("check subnet %s: host bits set (did you mean %s?): %w", subnet, subnet.Masked(), ErrInvalid)
	}
	if !gateway.IsValid() {
		gateway = subnet.Addr().Next()
	}
	if !subnet.Contains(gateway) || gateway == subnet.Addr() || gateway == broadcast(subnet) {
		return netip.Addr{}, fmt.Errorf("check gateway %s: not a host address of %s: %w", gateway, subnet, ErrInvalid)
	}
	for _, u := range used {
		if subnet.Overlaps(u) {
			return netip.Addr{}, fmt.Errorf("check subnet %s: overlaps %s: %w", subnet, u, ErrSubnetConflict)
		}
	}
	return gateway, nil
}

// Allocate picks an address of subnet for a new endpoint. prefer is returned when it is a
// free host address of the subnet (a recreated container keeps its address, so peers that
// resolved its name once still reach it). Otherwise the search starts after last, the
// address handed out most recently, and wraps: a released address is reused as late as
// possible, which keeps stale DNS answers and ARP entries from pointing at a newcomer.
// taken reports addresses that are leased; the network and broadcast addresses and the
// gateway are never returned.
func Allocate(subnet netip.Prefix, gateway, last, prefer netip.Addr, taken func(netip.Addr) bool) (netip.Addr, error) {
	usable := func(a netip.Addr) bool {
		return subnet.Contains(a) && a != subnet.Addr() && a != broadcast(subnet) && a != gateway && !taken(a)
	}
	if prefer.IsValid() && usable(prefer) {
		return prefer, nil
	}
	first := addrToUint(subnet.Addr()) + 1
	size := uint32(1)<<(32-subnet.Bits()) - 2 // host addresses
	start := first
	if last.IsValid() && subnet.Contains(last) {
		start = addrToUint(last) + 1
	}
	for i := uint32(0); i < size; i++ {
		a := uintToAddr(first + (start-first+i)%size)
		if usable(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("allocate address in %s: %w", subnet, ErrExhausted)
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if p.Overlaps(u) {
			return true
		}
	}
	return false
}

func broadcast(p netip.Prefix) netip.Addr {
	return uintToAddr(addrToUint(p.Masked().Addr()) | (uint32(1)<<(32-p.Bits()) - 1))
}

func addrToUint(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func uintToAddr(u uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
}
