package runtime

//go:generate go run gen_syscalls.go

import (
	"fmt"
	goruntime "runtime"
	"sort"
	"syscall"
	"unsafe"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// syscallEntry is one row of the generated syscallTable (syscalls_<arch>.go).
type syscallEntry struct {
	name string
	nr   uint32
}

// syscallNumber looks a syscall up by name in this architecture's table.
func syscallNumber(name string) (uint32, bool) {
	i := sort.Search(len(syscallTable), func(i int) bool { return syscallTable[i].name >= name })
	if i < len(syscallTable) && syscallTable[i].name == name {
		return syscallTable[i].nr, true
	}
	return 0, false
}

// auditArch is the AUDIT_ARCH_* value the kernel reports for native syscalls.
var auditArch = map[string]uint32{"amd64": unix.AUDIT_ARCH_X86_64, "arm64": unix.AUDIT_ARCH_AARCH64}[goruntime.GOARCH]

// Offsets in struct seccomp_data: the syscall number, the architecture, and the arguments
// (64 bits each; both supported architectures are little-endian, so the low half is first).
const (
	seccompNrOff   = 0
	seccompArchOff = 4
	seccompArgsOff = 16
	x32SyscallBit  = 0x40000000
)

// seccompFilter compiles moby's default seccomp profile, specialised for the container's
// capabilities (the profile allows e.g. mount only with CAP_SYS_ADMIN), into a classic BPF
// program for SECCOMP_SET_MODE_FILTER.
//
// moby/profiles gives the profile as the OCI runtime spec's rules; syscall numbers come from
// a generated static table (gen_syscalls.go), so no process pays for building one at
// start-up. The program:
//
//	load arch;  not native (or x32 on amd64) → the default action
//	load nr;    for each rule in profile order:
//	              unconditional: if nr == N → return the rule's action
//	              with arguments: if nr == N → test each argument (64-bit, as two 32-bit
//	              halves); all true → return the action; else reload nr and go on
//	return the default action (EPERM)
//
// Rules are tested in order and the first match wins, which is the profile's meaning since
// its rules for one syscall never conflict. Syscalls the table does not know (newer than
// x/sys) are skipped, as libseccomp does. Only the comparisons the profile uses are
// supported (==, <, masked ==); another one is an error, not a silently wrong filter.
func seccompFilter(caps capMask) ([]unix.SockFilter, error) {
	if auditArch == 0 {
		return nil, fmt.Errorf("seccomp: no syscall table for %s (use seccomp=unconfined)", goruntime.GOARCH)
	}
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps.names()}}}
	prof, err := seccomp.GetDefaultProfile(rs)
	if err != nil {
		return nil, fmt.Errorf("build seccomp profile: %w", err)
	}
	def, err := seccompAction(prof.DefaultAction, prof.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	var p bpfProgram
	p.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompArchOff)
	p.jump(unix.BPF_JEQ, auditArch, p.label(2), labelNext) // native: skip the ret
	p.ret(def)
	p.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompNrOff)
	if goruntime.GOARCH == "amd64" {
		p.jump(unix.BPF_JGE, x32SyscallBit, labelNext, p.label(2)) // x32 ABI: the ret
		p.ret(def)
	}
	for _, rule := range prof.Syscalls {
		act, err := seccompAction(rule.Action, rule.ErrnoRet)
		if err != nil {
			return nil, err
		}
		for _, name := range rule.Names {
			nr, ok := syscallNumber(name)
			if !ok {
				continue
			}
			if len(rule.Args) == 0 {
				p.jump(unix.BPF_JEQ, nr, labelNext, p.label(2)) // match: the ret below
				p.ret(act)
				continue
			}
			fail := p.newLabel()
			p.jump(unix.BPF_JEQ, nr, labelNext, fail)
			for _, a := range rule.Args {
				if err := p.compare(a, fail); err != nil {
					return nil, fmt.Errorf("seccomp rule for %s: %w", name, err)
				}
			}
			p.ret(act)
			p.place(fail)
			p.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompNrOff) // A was clobbered
		}
	}
	p.ret(def)
	return p.assemble()
}

// compare emits the test of one argument; a false test jumps to fail, a true one falls
// through.
func (p *bpfProgram) compare(a specs.LinuxSeccompArg, fail int) error {
	if a.Index > 5 {
		return fmt.Errorf("argument %d out of range", a.Index)
	}
	lo, hi := uint32(seccompArgsOff+8*a.Index), uint32(seccompArgsOff+8*a.Index+4)
	load := func(off uint32) { p.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, off) }
	switch a.Op {
	case specs.OpEqualTo:
		load(hi)
		p.jump(unix.BPF_JEQ, uint32(a.Value>>32), labelNext, fail)
		load(lo)
		p.jump(unix.BPF_JEQ, uint32(a.Value), labelNext, fail)
	case specs.OpMaskedEqual: // (arg & Value) == ValueTwo
		load(hi)
		p.stmt(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, uint32(a.Value>>32))
		p.jump(unix.BPF_JEQ, uint32(a.ValueTwo>>32), labelNext, fail)
		load(lo)
		p.stmt(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, uint32(a.Value))
		p.jump(unix.BPF_JEQ, uint32(a.ValueTwo), labelNext, fail)
	case specs.OpLessThan: // hi < vhi, or hi == vhi and lo < vlo
		pass := p.newLabel()
		load(hi)
		p.jump(unix.BPF_JGT, uint32(a.Value>>32), fail, labelNext)
		p.jump(unix.BPF_JEQ, uint32(a.Value>>32), labelNext, pass)
		load(lo)
		p.jump(unix.BPF_JGE, uint32(a.Value), fail, labelNext)
		p.place(pass)
	default:
		return fmt.Errorf("comparison %q is not supported", a.Op)
	}
	return nil
}

func seccompAction(a specs.LinuxSeccompAction, errno *uint) (uint32, error) {
	switch a {
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActErrno:
		e := uint(syscall.EPERM)
		if errno != nil {
			e = *errno
		}
		return unix.SECCOMP_RET_ERRNO | uint32(e&unix.SECCOMP_RET_DATA), nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	}
	return 0, fmt.Errorf("seccomp: action %q is not supported", a)
}

// labelNext, as a jump target, is the next instruction; other labels come from newLabel
// (placed with place) or label.
const labelNext = -1

// bpfProgram is a tiny two-pass assembler for classic BPF: jumps name labels, resolved to
// the 8-bit forward offsets BPF wants once every label's position is known.
type bpfProgram struct {
	insts  []unix.SockFilter
	jt, jf []int       // label per instruction (jumps only)
	labels map[int]int // label → instruction index
	next   int
}

func (p *bpfProgram) stmt(code uint16, k uint32) {
	p.insts = append(p.insts, unix.SockFilter{Code: code, K: k})
	p.jt, p.jf = append(p.jt, labelNext), append(p.jf, labelNext)
}

func (p *bpfProgram) jump(op uint16, k uint32, jt, jf int) {
	p.insts = append(p.insts, unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, K: k})
	p.jt, p.jf = append(p.jt, jt), append(p.jf, jf)
}

func (p *bpfProgram) ret(k uint32) { p.stmt(unix.BPF_RET|unix.BPF_K, k) }

func (p *bpfProgram) newLabel() int {
	p.next++
	return p.next
}

// label returns a label n instructions past the one emitted next: label(2) on a jump
// skips the single instruction after it (the "if nr == N return X" form).
func (p *bpfProgram) label(n int) int {
	l := p.newLabel()
	if p.labels == nil {
		p.labels = map[int]int{}
	}
	p.labels[l] = len(p.insts) + n
	return l
}

func (p *bpfProgram) place(l int) {
	if p.labels == nil {
		p.labels = map[int]int{}
	}
	p.labels[l] = len(p.insts)
}

func (p *bpfProgram) assemble() ([]unix.SockFilter, error) {
	if len(p.insts) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp: %d instructions exceed the kernel's %d", len(p.insts), unix.BPF_MAXINSNS)
	}
	for i := range p.insts {
		for _, f := range []struct {
			label int
			dst   *uint8
		}{{p.jt[i], &p.insts[i].Jt}, {p.jf[i], &p.insts[i].Jf}} {
			if f.label == labelNext {
				continue
			}
			at, ok := p.labels[f.label]
			if !ok {
				return nil, fmt.Errorf("seccomp: unplaced label %d", f.label)
			}
			off := at - i - 1
			if off < 0 || off > 255 {
				return nil, fmt.Errorf("seccomp: jump of %d instructions at %d", off, i)
			}
			*f.dst = uint8(off)
		}
	}
	return p.insts, nil
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
