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

// securityOptions is --security-opt, parsed.
type securityOptions struct {
	noNewPrivs bool
	// seccomp is the seccomp profile: "" for moby's default, seccompUnconfined for none, or
	// a profile in Docker's JSON format (where ReadSeccompProfiles puts a file's).
	seccomp string
}

// securityOpts parses --security-opt: no-new-privileges[:true|false|=true|=false] and
// seccomp=unconfined|builtin|<profile JSON>; the last seccomp option counts. A profile is
// only recognised here: it is checked where it is compiled (at create by validate, then
// by seccompFilter), because this runs for every start, exec and inspect.
func securityOpts(opts []string) (securityOptions, error) {
	var s securityOptions
	for _, o := range opts {
		k, v, hasV := splitSecurityOpt(o)
		switch k {
		case "no-new-privileges":
			switch {
			case !hasV || v == "true":
				s.noNewPrivs = true
			case v == "false":
				s.noNewPrivs = false
			default:
				return s, fmt.Errorf("%w: security-opt %q: want no-new-privileges[:true|false]", ErrInvalidSpec, o)
			}
		case "seccomp":
			switch {
			case v == seccompUnconfined || strings.HasPrefix(v, "{"):
				s.seccomp = v
			case v == seccompBuiltin:
				s.seccomp = ""
			default:
				return s, fmt.Errorf("%w: security-opt %q: want seccomp=unconfined, seccomp=builtin or seccomp=PROFILE.json", ErrInvalidSpec, o)
			}
		default:
			return s, fmt.Errorf("%w: security-opt %q: unknown (want no-new-privileges or seccomp=...)", ErrInvalidSpec, o)
		}
	}
	return s, nil
}

// splitSecurityOpt splits a security option into key and value at "=", or at ":" (the
// form compose files use), as Docker's CLI does.
func splitSecurityOpt(o string) (key, value string, hasValue bool) {
	key, value, hasValue = strings.Cut(o, "=")
	if !hasValue {
		key, value, hasValue = strings.Cut(o, ":")
	}
	return key, value, hasValue
}
