package runtime

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// capNames maps capability names (without CAP_) to their numbers, up to CAP_CHECKPOINT_RESTORE.
var capNames = map[string]int{
	"CHOWN": unix.CAP_CHOWN, "DAC_OVERRIDE": unix.CAP_DAC_OVERRIDE, "DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH,
	"FOWNER": unix.CAP_FOWNER, "FSETID": unix.CAP_FSETID, "KILL": unix.CAP_KILL, "SETGID": unix.CAP_SETGID,
	"SETUID": unix.CAP_SETUID, "SETPCAP": unix.CAP_SETPCAP, "LINUX_IMMUTABLE": unix.CAP_LINUX_IMMUTABLE,
	"NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE, "NET_BROADCAST": unix.CAP_NET_BROADCAST,
	"NET_ADMIN": unix.CAP_NET_ADMIN, "NET_RAW": unix.CAP_NET_RAW, "IPC_LOCK": unix.CAP_IPC_LOCK,
	"IPC_OWNER": unix.CAP_IPC_OWNER, "SYS_MODULE": unix.CAP_SYS_MODULE, "SYS_RAWIO": unix.CAP_SYS_RAWIO,
	"SYS_CHROOT": unix.CAP_SYS_CHROOT, "SYS_PTRACE": unix.CAP_SYS_PTRACE, "SYS_PACCT": unix.CAP_SYS_PACCT,
	"SYS_ADMIN": unix.CAP_SYS_ADMIN, "SYS_BOOT": unix.CAP_SYS_BOOT, "SYS_NICE": unix.CAP_SYS_NICE,
	"SYS_RESOURCE": unix.CAP_SYS_RESOURCE, "SYS_TIME": unix.CAP_SYS_TIME, "SYS_TTY_CONFIG": unix.CAP_SYS_TTY_CONFIG,
	"MKNOD": unix.CAP_MKNOD, "LEASE": unix.CAP_LEASE, "AUDIT_WRITE": unix.CAP_AUDIT_WRITE,
	"AUDIT_CONTROL": unix.CAP_AUDIT_CONTROL, "SETFCAP": unix.CAP_SETFCAP, "MAC_OVERRIDE": unix.CAP_MAC_OVERRIDE,
	"MAC_ADMIN": unix.CAP_MAC_ADMIN, "SYSLOG": unix.CAP_SYSLOG, "WAKE_ALARM": unix.CAP_WAKE_ALARM,
	"BLOCK_SUSPEND": unix.CAP_BLOCK_SUSPEND, "AUDIT_READ": unix.CAP_AUDIT_READ, "PERFMON": unix.CAP_PERFMON,
	"BPF": unix.CAP_BPF, "CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// defaultCaps is Docker's default capability set: enough for a root process to manage its own
// files and processes, not the host (no SYS_ADMIN, NET_ADMIN, SYS_MODULE, ...).
var defaultCaps = []string{
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
	"SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
}

// capMask is a capability set as a bit mask (bit n = capability n).
type capMask uint64

// capabilitySet applies cap_add and cap_drop to Docker's default set (privileged: all), in
// moby's order: the base set (all with --cap-add ALL), minus the drops (everything with
// --cap-drop ALL), plus the explicitly added capabilities, so an explicit add wins.
func capabilitySet(add, drop []string, privileged bool) (capMask, error) {
	var all capMask
	for _, n := range capNames {
		all |= 1 << n
	}
	if privileged {
		return all, nil
	}
	var set capMask
	for _, c := range defaultCaps {
		set |= 1 << capNames[c]
	}
	parse := func(list []string) (capMask, bool, error) {
		var m capMask
		hasAll := false
		for _, c := range list {
			c = strings.TrimPrefix(strings.ToUpper(c), "CAP_")
			if c == "ALL" {
				hasAll = true
				continue
			}
			n, ok := capNames[c]
			if !ok {
				return 0, false, fmt.Errorf("%w: unknown capability %q", ErrInvalidSpec, c)
			}
			m |= 1 << n
		}
		return m, hasAll, nil
	}
	addM, addAll, err := parse(add)
	if err != nil {
		return 0, err
	}
	dropM, dropAll, err := parse(drop)
	if err != nil {
		return 0, err
	}
	if addAll {
		set = all
	}
	if dropAll {
		set = 0
	}
	set &^= dropM
	set |= addM
	return set, nil
}

// names lists the capabilities in m, sorted, with CAP_ prefix (for inspect and tests).
func (m capMask) names() []string {
	var out []string
	for n, v := range capNames {
		if m&(1<<v) != 0 {
			out = append(out, "CAP_"+n)
		}
	}
	sort.Strings(out)
	return out
}

// securityOpts parses --security-opt: no-new-privileges[:true|false|=true|=false] and
// seccomp=unconfined (the only seccomp value: the default profile is built in).
func securityOpts(opts []string) (noNewPrivs, seccompUnconfined bool, err error) {
	for _, o := range opts {
		k, v, hasV := strings.Cut(o, "=")
		if !hasV {
			k, v, hasV = strings.Cut(o, ":")
		}
		switch k {
		case "no-new-privileges":
			switch {
			case !hasV || v == "true":
				noNewPrivs = true
			case v == "false":
				noNewPrivs = false
			default:
				return false, false, fmt.Errorf("%w: security-opt %q: want no-new-privileges[:true|false]", ErrInvalidSpec, o)
			}
		case "seccomp":
			if v != "unconfined" {
				return false, false, fmt.Errorf("%w: security-opt %q: only seccomp=unconfined is supported (the default profile is built in)", ErrInvalidSpec, o)
			}
			seccompUnconfined = true
		default:
			return false, false, fmt.Errorf("%w: security-opt %q: unknown (want no-new-privileges or seccomp=unconfined)", ErrInvalidSpec, o)
		}
	}
	return noNewPrivs, seccompUnconfined, nil
}
