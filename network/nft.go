package network

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// Packet filtering and NAT live in one nftables table of the store's own (`ip stack` for the
// default root, `ip stack-<hash>` for any other), rebuilt whole from the stored state in one
// netlink batch on every change (and left alone when its digest says nothing changed, see
// syncRules): the kernel applies a batch atomically, so there is never a moment with half
// the rules, and repairing after a crash is the same operation as any update. Nothing of
// anyone else's is touched, with one exception described at the end.
//
//	chain forward  filter hook forward  priority filter-10  policy accept
//	  ct state established,related accept        comment "state:<digest>"
//	  ct status dnat accept                       published ports, from anywhere
//	  per network N (bridge B):
//	    iifname B oifname B accept                containers of one network talk freely
//	    internal:  iifname B drop; oifname B drop no way in or out
//	    otherwise: iifname B oifname "stk-*" drop isolation between networks
//	               iifname B accept               outbound
//	               oifname B drop                 nothing routed in but published ports
//	chain prerouting  nat hook prerouting priority dstnat:  fib daddr type local jump ports
//	chain output      nat hook output     priority dstnat:  fib daddr type local jump ports
//	chain ports:  [ip daddr H] meta l4proto P th dport X dnat to C:Y   one per published port
//	chain postrouting nat hook postrouting priority srcnat:
//	  ip saddr 127.0.0.0/8 oifname B masquerade   127.0.0.1:X → container (route_localnet)
//	  ip saddr S oifname B ct status dnat masquerade   hairpin: a container via the host
//	  ip saddr S oifname != B masquerade          outbound NAT (not for internal networks)
//
// The forward chain runs before iptables' filter table (priority 0), so its drops are final.
// Its accepts are not: in nftables every base chain on a hook sees the packet and a drop in
// any of them wins. Docker (and anything using iptables-nft) sets the policy of
// `ip filter FORWARD` to drop, which would drop our traffic after we accepted it. So, only
// when that chain exists with a drop policy, syncRules inserts `iifname B accept` and
// `oifname B accept` at its top for each of our bridges, tagged with a comment naming the
// store, and removes exactly those again. Legacy (xtables) iptables cannot be seen or
// changed through nftables; on such a host the FORWARD policy must allow our bridges.

const forwardPriority = -10

// tableName returns the name of the store's nftables table.
func (m *Manager) tableName() string {
	if m.defaultStore {
		return "stack"
	}
	return "stack-" + m.storeHash
}

// rulesLayout names the shape of the rules addForward, addNAT and syncFilterForward make;
// change it whenever they change, so tables made by an older binary are rebuilt.
const rulesLayout = "v1"

// syncRules replaces the store's table with the rules for nets and ports, or deletes the
// table when there is nothing left to filter.
//
// The first rule of the forward chain carries a digest of everything the table is made from
// (layout, networks, ports, and whether iptables' FORWARD chain drops). When the kernel's
// table already carries the digest of the wanted state, and FORWARD holds our rules exactly
// when it must, the table is left as it is: rebuilding it re-registers every base chain's
// netfilter hook, which costs the kernel 5 to 30 ms, and Sweep asks for this on every
// `stack up` and `down`. A table removed behind our back (a reboot, `nft flush ruleset`) has
// no digest and is rebuilt.
func (m *Manager) syncRules(nets []*Network, ports map[string]publishedSet) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("open nftables: %w", err)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("list nftables chains: %w", err)
	}
	var fwd, ours *nftables.Chain
	for _, ch := range chains {
		switch {
		case ch.Table.Name == "filter" && ch.Name == "FORWARD":
			fwd = ch
		case ch.Table.Name == m.tableName() && ch.Name == "forward":
			ours = ch
		}
	}
	digest := m.rulesDigest(nets, ports, fwd)
	var fwdRules []*nftables.Rule
	if fwd != nil {
		if fwdRules, err = c.GetRules(fwd.Table, fwd); err != nil {
			return fmt.Errorf("list rules of ip filter FORWARD: %w", err)
		}
	}
	if ok, err := m.rulesInPlace(c, ours, fwd, fwdRules, digest, len(nets)); err != nil || ok {
		if err != nil || len(nets) == 0 {
			return err
		}
		return ensureForwarding(nets)
	}
	table := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: m.tableName()}
	// Add-then-delete empties the table whether it existed or not, in the same batch.
	c.AddTable(table)
	c.DelTable(table)
	if err := m.syncFilterForward(c, fwd, fwdRules, nets); err != nil {
		return err
	}
	if len(nets) == 0 {
		if err := c.Flush(); err != nil {
			return fmt.Errorf("delete nftables table %s: %w", table.Name, err)
		}
		return nil
	}
	c.AddTable(table)
	addForward(c, table, nets, digest)
	addNAT(c, table, nets, ports)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("apply nftables table %s: %w", table.Name, err)
	}
	return ensureForwarding(nets)
}

// ensureForwarding turns IPv4 forwarding on when a network routes out.
func ensureForwarding(nets []*Network) error {
	for _, n := range nets {
		if !n.Internal {
			return writeSysctl("net/ipv4/ip_forward", "1")
		}
	}
	return nil
}

// rulesDigest identifies the table syncRules makes from nets and ports: it names the rules'
// layout, every input they are made from and the policy of iptables' FORWARD chain.
func (m *Manager) rulesDigest(nets []*Network, ports map[string]publishedSet, fwd *nftables.Chain) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s forward-drops=%t\n", rulesLayout, m.tableName(), dropsByPolicy(fwd))
	for _, n := range nets {
		fmt.Fprintf(h, "net %s %s %s %s %t\n", n.Name, n.Bridge, n.Subnet, n.Gateway, n.Internal)
	}
	ids := make([]string, 0, len(ports))
	for id := range ports {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(h, "ports %s %s", id, ports[id].IP)
		for _, p := range ports[id].Ports {
			fmt.Fprintf(h, " %s/%d/%d/%s", p.HostIP, p.HostPort, p.ContainerPort, p.Protocol)
		}
		fmt.Fprintln(h)
	}
	return "state:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// rulesInPlace reports whether the kernel already has the table for digest (none when there
// are no networks) and iptables' FORWARD chain holds our accept rules exactly when it drops.
func (m *Manager) rulesInPlace(c *nftables.Conn, ours, fwd *nftables.Chain, fwdRules []*nftables.Rule, digest string, nets int) (bool, error) {
	marks, mark := 0, "stack:"+m.storeHash
	for _, r := range fwdRules {
		if got, _ := userdata.GetString(r.UserData, userdata.TypeComment); got == mark {
			marks++
		}
	}
	want := 0
	if dropsByPolicy(fwd) {
		want = 2 * nets
	}
	if marks != want {
		return false, nil
	}
	if nets == 0 {
		_, err := c.ListTableOfFamily(m.tableName(), nftables.TableFamilyIPv4)
		return err != nil, nil // no table left: in place
	}
	if ours == nil {
		return false, nil
	}
	rules, err := c.GetRules(ours.Table, ours)
	if err != nil {
		return false, fmt.Errorf("list rules of %s forward: %w", m.tableName(), err)
	}
	if len(rules) == 0 {
		return false, nil
	}
	got, _ := userdata.GetString(rules[0].UserData, userdata.TypeComment)
	return got == digest, nil
}

func dropsByPolicy(ch *nftables.Chain) bool {
	return ch != nil && ch.Policy != nil && *ch.Policy == nftables.ChainPolicyDrop
}

// addForward adds the forward chain; its first rule carries digest (see syncRules).
func addForward(c *nftables.Conn, t *nftables.Table, nets []*Network, digest string) {
	accept := policy(nftables.ChainPolicyAccept)
	ch := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(forwardPriority), Policy: accept})
	rule := func(e ...expr.Any) { c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: e}) }
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: comment(digest),
		Exprs: append(ctMask(expr.CtKeySTATE, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), verdict(expr.VerdictAccept))})
	rule(append(ctMask(expr.CtKeySTATUS, ipsDstNAT), verdict(expr.VerdictAccept))...)
	for _, n := range nets {
		rule(cat(ifname(expr.MetaKeyIIFNAME, n.Bridge, true), ifname(expr.MetaKeyOIFNAME, n.Bridge, true), verdict(expr.VerdictAccept))...)
		if n.Internal {
			rule(cat(ifname(expr.MetaKeyIIFNAME, n.Bridge, true), verdict(expr.VerdictDrop))...)
			rule(cat(ifname(expr.MetaKeyOIFNAME, n.Bridge, true), verdict(expr.VerdictDrop))...)
			continue
		}
		rule(cat(ifname(expr.MetaKeyIIFNAME, n.Bridge, true), ifnamePrefix(expr.MetaKeyOIFNAME, bridgePrefix), verdict(expr.VerdictDrop))...)
		rule(cat(ifname(expr.MetaKeyIIFNAME, n.Bridge, true), verdict(expr.VerdictAccept))...)
		rule(cat(ifname(expr.MetaKeyOIFNAME, n.Bridge, true), verdict(expr.VerdictDrop))...)
	}
}

func addNAT(c *nftables.Conn, t *nftables.Table, nets []*Network, ports map[string]publishedSet) {
	portsChain := c.AddChain(&nftables.Chain{Name: "ports", Table: t})
	for _, hook := range []struct {
		name string
		hook *nftables.ChainHook
	}{{"prerouting", nftables.ChainHookPrerouting}, {"output", nftables.ChainHookOutput}} {
		ch := c.AddChain(&nftables.Chain{Name: hook.name, Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: hook.hook, Priority: nftables.ChainPriorityNATDest, Policy: policy(nftables.ChainPolicyAccept)})
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
			&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
			&expr.Verdict{Kind: expr.VerdictJump, Chain: portsChain.Name},
		}})
	}
	ids := make([]string, 0, len(ports))
	for id := range ports {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		set := ports[id]
		for _, p := range set.Ports {
			var e []expr.Any
			if p.HostIP.IsValid() && !p.HostIP.IsUnspecified() {
				e = append(e, payload(expr.PayloadBaseNetworkHeader, 16, 4), cmpEq(p.HostIP.AsSlice()))
			}
			e = append(e,
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, cmpEq([]byte{protoNumber(p.Protocol)}),
				payload(expr.PayloadBaseTransportHeader, 2, 2), cmpEq(binaryutil.BigEndian.PutUint16(p.HostPort)),
				&expr.Immediate{Register: 1, Data: set.IP.AsSlice()},
				&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
				&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
			)
			c.AddRule(&nftables.Rule{Table: t, Chain: portsChain, Exprs: e, UserData: comment(id)})
		}
	}
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: policy(nftables.ChainPolicyAccept)})
	rule := func(e ...expr.Any) { c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: e}) }
	for _, n := range nets {
		rule(cat(saddrIn(netip.MustParsePrefix("127.0.0.0/8")), ifname(expr.MetaKeyOIFNAME, n.Bridge, true), &expr.Masq{})...)
		rule(cat(saddrIn(n.Subnet), ifname(expr.MetaKeyOIFNAME, n.Bridge, true), ctMask(expr.CtKeySTATUS, ipsDstNAT), &expr.Masq{})...)
		if !n.Internal {
			rule(cat(saddrIn(n.Subnet), ifname(expr.MetaKeyOIFNAME, n.Bridge, false), &expr.Masq{})...)
		}
	}
}

// syncFilterForward keeps our accept rules at the top of iptables-nft's `ip filter FORWARD`
// (fwd, with its rules) when, and only when, that chain drops by policy (see the package
// comment above).
func (m *Manager) syncFilterForward(c *nftables.Conn, fwd *nftables.Chain, rules []*nftables.Rule, nets []*Network) error {
	if fwd == nil {
		return nil
	}
	mark := "stack:" + m.storeHash
	for _, r := range rules {
		if got, _ := userdata.GetString(r.UserData, userdata.TypeComment); got == mark {
			if err := c.DelRule(r); err != nil {
				return fmt.Errorf("delete rule %d of ip filter FORWARD: %w", r.Handle, err)
			}
		}
	}
	if !dropsByPolicy(fwd) {
		return nil
	}
	for _, n := range nets {
		for _, key := range []expr.MetaKey{expr.MetaKeyOIFNAME, expr.MetaKeyIIFNAME} {
			c.InsertRule(&nftables.Rule{Table: fwd.Table, Chain: fwd, UserData: comment(mark),
				Exprs: cat(ifname(key, n.Bridge, true), verdict(expr.VerdictAccept))})
		}
	}
	return nil
}

// ipsDstNAT is IPS_DST_NAT of the conntrack status bits: the connection was DNATed.
const ipsDstNAT = 1 << 5

func policy(p nftables.ChainPolicy) *nftables.ChainPolicy { return &p }

func cat(parts ...any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		switch v := p.(type) {
		case expr.Any:
			out = append(out, v)
		case []expr.Any:
			out = append(out, v...)
		}
	}
	return out
}

func verdict(k expr.VerdictKind) expr.Any { return &expr.Verdict{Kind: k} }

func cmpEq(data []byte) expr.Any { return &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: data} }

func payload(base expr.PayloadBase, off, n uint32) expr.Any {
	return &expr.Payload{DestRegister: 1, Base: base, Offset: off, Len: n}
}

// ifname matches an interface name exactly (eq) or its negation.
func ifname(key expr.MetaKey, name string, eq bool) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	op := expr.CmpOpEq
	if !eq {
		op = expr.CmpOpNeq
	}
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: b}}
}

// ifnamePrefix matches interface names starting with prefix (nft's "stk-*").
func ifnamePrefix(key expr.MetaKey, prefix string) []expr.Any {
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, cmpEq([]byte(prefix))}
}

func saddrIn(p netip.Prefix) []expr.Any {
	mask := ipNet(p.Addr(), p.Bits()).Mask
	return []expr.Any{
		payload(expr.PayloadBaseNetworkHeader, 12, 4),
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		cmpEq(p.Masked().Addr().AsSlice()),
	}
}

// ctMask matches conntrack state or status bits: ct KEY & bits != 0.
func ctMask(key expr.CtKey, bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: key, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

func comment(s string) []byte { return userdata.AppendString(nil, userdata.TypeComment, s) }

func protoNumber(proto string) byte {
	if proto == "udp" {
		return unix.IPPROTO_UDP
	}
	return unix.IPPROTO_TCP
}
