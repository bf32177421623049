package runtime

import (
	"fmt"
	goruntime "runtime"
	"syscall"
	"unsafe"

	seccompbpf "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompFilter compiles moby's default seccomp profile, specialised for the container's
// capabilities (the profile allows e.g. mount only with CAP_SYS_ADMIN), into a BPF program.
//
// moby/profiles gives the profile as the OCI runtime spec's rules; go-seccomp-bpf has the
// per-architecture syscall tables and the assembler (argument comparisons on 64-bit values
// with 32-bit BPF). The translation groups rules by action in profile order; syscalls the
// table does not know (newer than the table) are skipped, as libseccomp does. The only
// comparison the default profile uses that the assembler lacks is MASKED_EQ with value 0
// (clone's namespace flags), which is "none of these bits set".
func seccompFilter(caps capMask) ([]unix.SockFilter, error) {
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps.names()}}}
	prof, err := seccomp.GetDefaultProfile(rs)
	if err != nil {
		return nil, fmt.Errorf("build seccomp profile: %w", err)
	}
	info, err := arch.GetInfo(goruntime.GOARCH)
	if err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	def, err := seccompAction(prof.DefaultAction, prof.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	policy := seccompbpf.Policy{DefaultAction: def}
	for _, rule := range prof.Syscalls {
		act, err := seccompAction(rule.Action, rule.ErrnoRet)
		if err != nil {
			return nil, err
		}
		g := seccompbpf.SyscallGroup{Action: act}
		var conds seccompbpf.ArgumentConditions
		for _, a := range rule.Args {
			c := seccompbpf.Condition{Argument: uint32(a.Index), Value: a.Value}
			switch a.Op {
			case specs.OpEqualTo:
				c.Operation = seccompbpf.Equal
			case specs.OpNotEqual:
				c.Operation = seccompbpf.NotEqual
			case specs.OpGreaterThan:
				c.Operation = seccompbpf.GreaterThan
			case specs.OpGreaterEqual:
				c.Operation = seccompbpf.GreaterOrEqual
			case specs.OpLessThan:
				c.Operation = seccompbpf.LessThan
			case specs.OpLessEqual:
				c.Operation = seccompbpf.LessOrEqual
			case specs.OpMaskedEqual:
				if a.ValueTwo != 0 {
					return nil, fmt.Errorf("seccomp: masked compare with value %#x is not supported", a.ValueTwo)
				}
				c.Operation, c.Value = seccompbpf.BitsNotSet, a.Value
			default:
				return nil, fmt.Errorf("seccomp: comparison %q is not supported", a.Op)
			}
			conds = append(conds, c)
		}
		for _, name := range rule.Names {
			if _, ok := info.SyscallNames[name]; !ok {
				continue
			}
			if len(conds) == 0 {
				g.Names = append(g.Names, name)
			} else {
				g.NamesWithCondtions = append(g.NamesWithCondtions, seccompbpf.NameWithConditions{Name: name, Conditions: conds})
			}
		}
		if len(g.Names)+len(g.NamesWithCondtions) > 0 {
			policy.Syscalls = append(policy.Syscalls, g)
		}
	}
	insts, err := policy.Assemble()
	if err != nil {
		return nil, fmt.Errorf("assemble seccomp policy: %w", err)
	}
	raw, err := bpf.Assemble(insts)
	if err != nil {
		return nil, fmt.Errorf("assemble seccomp bpf: %w", err)
	}
	out := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}

func seccompAction(a specs.LinuxSeccompAction, errno *uint) (seccompbpf.Action, error) {
	switch a {
	case specs.ActAllow:
		return seccompbpf.ActionAllow, nil
	case specs.ActErrno:
		e := uint(syscall.EPERM)
		if errno != nil {
			e = *errno
		}
		if e == uint(syscall.EPERM) {
			return seccompbpf.ActionErrno, nil // the assembler adds EPERM, and wants it bare
		}
		return seccompbpf.ActionErrno | seccompbpf.Action(e), nil
	case specs.ActKillProcess:
		return seccompbpf.ActionKillProcess, nil
	case specs.ActKill, specs.ActKillThread:
		return seccompbpf.ActionKillThread, nil
	case specs.ActTrap:
		return seccompbpf.ActionTrap, nil
	case specs.ActLog:
		return seccompbpf.ActionLog, nil
	}
	return 0, fmt.Errorf("seccomp: action %q is not supported", a)
}

// loadSeccomp installs the filter on the calling thread (no TSYNC: init runs on its locked
// main thread and execs from it, so the program inherits exactly this thread's filter).
// Without no_new_privs this needs CAP_SYS_ADMIN, so it runs before capabilities are dropped.
func loadSeccomp(filter []unix.SockFilter) error {
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER, %d instructions): %w", len(filter), errno)
	}
	return nil
}
