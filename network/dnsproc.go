package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stackhq/stack/internal/statefile"

	"golang.org/x/sys/unix"
)

// DNSRole is the hidden first argument that makes the stack binary a network's DNS server:
// `stack dns <state file> <gateway>`. main dispatches it to DNSMain before cobra starts, so
// the server initialises nothing else (it stays small: one per network).
const DNSRole = "dns"

// The DNS server of a network runs detached (own session, reparented when the command that
// started it exits) and is found again through <rundir>/networks/<name>.dns.pid, which holds
// "<pid> <start time>": a pid alone is not proof (pids are reused), the start time from
// /proc/<pid>/stat is. The starter writes that file as soon as the server is forked and the
// server again once its sockets are bound, then it reports on fd 3 (or says why it could not
// bind), so Connect returns only when names resolve, and a server whose starter was killed
// is recorded and never doubled. It also exits by itself
// when its network's state file disappears: nothing can leave it running after its network
// is gone, whatever crashed in between.

func (m *Manager) dnsPidFile(network string) string {
	return filepath.Join(m.runDir, network+".dns.pid")
}

func (m *Manager) dnsLockFile(network string) string {
	return filepath.Join(m.runDir, network+".dns.lock")
}

// ensureDNS starts the DNS server of n unless it runs. Starting and stopping a network's
// server hold its own lock (<rundir>/networks/<name>.dns.lock) exclusively, not the store
// lock: Connect starts it after its lease, so the other containers' leases need not wait
// for the exec. Callers that hold the store lock take this one after it, never the other
// way round. Finding the server running needs the lock only shared, so the containers of a
// stack starting together check at the same time; a starter holds it exclusively until
// the server answers, so a check never sees a server that cannot answer yet.
func (m *Manager) ensureDNS(n *Network) error {
	pidFile := m.dnsPidFile(n.Name)
	unlock, err := statefile.LockShared(m.dnsLockFile(n.Name))
	if err != nil {
		return err
	}
	_, ok := aliveFromPidFile(pidFile)
	unlock()
	if ok {
		return nil
	}
	if unlock, err = statefile.Lock(m.dnsLockFile(n.Name)); err != nil {
		return err
	}
	defer unlock()
	if _, ok := aliveFromPidFile(pidFile); ok {
		return nil // started meanwhile
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start dns server of %s: %w", n.Name, err)
	}
	defer r.Close()
	logFile, err := os.OpenFile(filepath.Join(m.runDir, n.Name+".dns.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		w.Close()
		return fmt.Errorf("start dns server of %s: %w", n.Name, err)
	}
	defer logFile.Close()
	cmd := exec.Command(m.Exe, DNSRole, m.st.networkPath(n.Name), n.Gateway.String(), pidFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("start dns server of %s: %s: %w", n.Name, m.Exe, err)
	}
	go cmd.Wait() // reap it if it dies while this process lives
	// Recorded at once, not only by the server once bound: if this process is killed while
	// the server starts, the next ensureDNS must see it rather than start a second server
	// that cannot bind, and stopDNS must find it.
	if err := writePidFile(pidFile, cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		return fmt.Errorf("start dns server of %s: %w", n.Name, err)
	}
	msg := make([]byte, 512)
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	k, _ := r.Read(msg)
	if got := strings.TrimSpace(string(msg[:k])); got != "ok" {
		_ = cmd.Process.Kill()
		if got == "" {
			got = "no answer within 10s"
		}
		return fmt.Errorf("start dns server of %s on %s:53: %s", n.Name, n.Gateway, got)
	}
	return nil
}

// writePidFile records process pid in file as "<pid> <start time>".
func writePidFile(file string, pid int) error {
	start, err := procStartTime(pid)
	if err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	// Both the starter and the server write it: each through a temporary file of its own.
	if err := statefile.Write(file, fmt.Appendf(nil, "%d %d\n", pid, start), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// stopDNS stops the DNS server of a network, if it runs, and waits for it to exit.
func (m *Manager) stopDNS(network string) error {
	unlock, err := statefile.Lock(m.dnsLockFile(network))
	if err != nil {
		return err
	}
	defer unlock()
	if err := stopRecorded(m.dnsPidFile(network)); err != nil {
		return fmt.Errorf("stop dns server of %s: %w", network, err)
	}
	return nil
}

// stopRecorded stops the process that pidFile records, if it runs, waits for it to exit and
// removes the file.
func stopRecorded(pidFile string) error {
	if pid, ok := aliveFromPidFile(pidFile); ok {
		if err := terminate(pid, 3*time.Second); err != nil {
			return fmt.Errorf("pid %d: %w", pid, err)
		}
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// removeOwnPidFile removes pidFile if it records the calling process, and reports whether
// it does (the process must then not be stopped through it).
func removeOwnPidFile(pidFile string) bool {
	pid, ok := aliveFromPidFile(pidFile)
	if !ok || pid != os.Getpid() {
		return false
	}
	_ = os.Remove(pidFile)
	return true
}

// removeDNS stops the DNS server of a network that goes away and removes its files from the
// run directory.
func (m *Manager) removeDNS(network string) error {
	if err := m.stopDNS(network); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(m.runDir, network+".dns.log"))
	_ = os.Remove(m.dnsLockFile(network))
	return nil
}

// terminate sends SIGTERM to pid and returns once it has exited, sending SIGKILL after
// grace. It works through a pidfd: the wait ends the moment the process exits, instead of
// at the next tick of a polling loop (the server takes a few milliseconds to shut down, and
// a container removed with the last endpoint of its network waits for it), and the signals
// cannot reach another process that reused the pid.
func terminate(pid int, grace time.Duration) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pidfd_open(%d): %w", pid, err)
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, unix.SIGTERM, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil
		}
		return fmt.Errorf("send SIGTERM: %w", err)
	}
	if exitedWithin(fd, grace) {
		return nil
	}
	_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	exitedWithin(fd, time.Second)
	return nil
}

// exitedWithin waits up to timeout for the process of pidfd fd to exit (fd turns readable).
func exitedWithin(fd int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			return false
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if err == nil && n > 0 {
			return true
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return false
		}
	}
}

// aliveFromPidFile returns the pid in file if that very process (same start time) runs.
func aliveFromPidFile(file string) (int, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, false
	}
	pid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	if got, err := procStartTime(pid); err != nil || got != start || !processRunning(pid) {
		return 0, false
	}
	return pid, true
}

// procStatFields returns the fields of /proc/<pid>/stat after the command name.
func procStatFields(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, fmt.Errorf("parse /proc/%d/stat: %w", pid, ErrInvalid)
	}
	return strings.Fields(string(b[i+1:])), nil
}

// procStartTime returns field 22 of /proc/<pid>/stat: the start time in clock ticks.
func procStartTime(pid int) (uint64, error) {
	f, err := procStatFields(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, ErrInvalid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// processRunning reports whether pid exists and is not a zombie.
func processRunning(pid int) bool {
	f, err := procStatFields(pid)
	return err == nil && len(f) > 0 && f[0] != "Z"
}

// DNSMain is the DNS server role: args are the network's state file, the gateway address to
// listen on and the pid file to write. It reports readiness on fd 3 when present, and serves
// until SIGTERM or until the state file is gone.
func DNSMain(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: stack %s STATE-FILE ADDRESS PID-FILE: %w", DNSRole, ErrInvalid)
	}
	gw, err := netip.ParseAddr(args[1])
	if err != nil {
		return fmt.Errorf("dns server address %q: %w", args[1], ErrInvalid)
	}
	ready := func(error) {}
	if status := os.NewFile(3, "status"); status != nil {
		if _, err := status.Stat(); err == nil {
			ready = func(err error) {
				msg := "ok"
				if err != nil {
					msg = err.Error()
				}
				fmt.Fprintln(status, msg)
				status.Close()
			}
		}
	}
	upstreams, err := HostResolvers("/etc/resolv.conf", gw)
	if err != nil {
		ready(err)
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		for ctx.Err() == nil {
			if _, err := os.Stat(args[0]); errors.Is(err, os.ErrNotExist) {
				stop()
			}
			time.Sleep(time.Second)
		}
	}()
	pidFile := args[2]
	err = NewDNSServer(args[0], upstreams).Serve(ctx, net.JoinHostPort(gw.String(), "53"), func(err error) {
		if err == nil {
			err = writePidFile(pidFile, os.Getpid())
		}
		ready(err)
	})
	removeOwnPidFile(pidFile)
	return err
}
