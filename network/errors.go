package network

import "errors"

// Sentinel errors of package network, checked with errors.Is. Every error returned by the
// package wraps one of these (or a syscall/netlink error that keeps its arguments).
var (
	// ErrNotFound: no network with that name, or no endpoint of that container.
	ErrNotFound = errors.New("not found")
	// ErrExists: a network with that name exists with a different configuration.
	ErrExists = errors.New("already exists")
	// ErrInUse: the network still has endpoints and cannot be removed.
	ErrInUse = errors.New("in use")
	// ErrInvalid: a name, subnet, gateway, address or port that cannot be used.
	ErrInvalid = errors.New("invalid")
	// ErrSubnetConflict: the requested subnet overlaps a route on the host or another network.
	ErrSubnetConflict = errors.New("subnet overlaps an existing network")
	// ErrExhausted: no free subnet in the pools, or no free address in a subnet.
	ErrExhausted = errors.New("no free addresses")
	// ErrPortInUse: a host port requested for publishing is already taken.
	ErrPortInUse = errors.New("port is already allocated")
)
