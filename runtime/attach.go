package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Attaching: a container made with OpenStdin (-i) gets its standard input from its monitor,
// which listens on an abstract unix socket (no file to clean up; only root may connect,
// checked with SO_PEERCRED). A client sends frames; the output is read from the log, which
// already has every byte in order.
//
//	frame = type (1 byte) | length (4 bytes, big endian) | payload
//	'd'  bytes for the container's stdin (or its terminal)
//	'r'  window size: rows (2 bytes), cols (2 bytes)
//	'c'  end of input: the container's stdin is closed (not with a terminal)
const (
	frameData   = 'd'
	frameResize = 'r'
	frameClose  = 'c'
)

func attachAddr(id string) string { return "@stack-attach-" + id }

// attachServer is the monitor's side.
type attachServer struct {
	mu    sync.Mutex
	stdin *os.File // current process's stdin pipe or pty master; nil between restarts
	tty   bool
}

func (a *attachServer) set(f *os.File) {
	a.mu.Lock()
	a.stdin = f
	a.mu.Unlock()
}

// serve accepts clients until the listener closes.
func (a *attachServer) serve(l *net.UnixListener) {
	for {
		conn, err := l.AcceptUnix()
		if err != nil {
			return
		}
		go a.handle(conn)
	}
}

func (a *attachServer) handle(conn *net.UnixConn) {
	defer conn.Close()
	raw, err := conn.SyscallConn()
	if err != nil {
		return
	}
	var cred *unix.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred.Uid != 0 {
		return
	}
	var hdr [5]byte
	buf := make([]byte, 32<<10)
	for {
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if n > uint32(len(buf)) {
			return
		}
		if _, err := io.ReadFull(conn, buf[:n]); err != nil {
			return
		}
		a.mu.Lock()
		f := a.stdin
		switch hdr[0] {
		case frameData:
			if f != nil {
				_, _ = f.Write(buf[:n])
			}
		case frameResize:
			if f != nil && a.tty && n == 4 {
				_ = pty.Setsize(f, &pty.Winsize{Rows: binary.BigEndian.Uint16(buf), Cols: binary.BigEndian.Uint16(buf[2:])})
			}
		case frameClose:
			if f != nil && !a.tty {
				f.Close()
				a.stdin = nil
			}
		}
		a.mu.Unlock()
	}
}

// AttachOptions say what Attach connects.
type AttachOptions struct {
	// Stdin goes to the container's standard input (or its terminal). Nil sends nothing but
	// Resize: `attach --no-stdin` to a container with a terminal still follows the window.
	Stdin io.Reader
	// Resize carries window sizes for the container's terminal.
	Resize <-chan [2]uint16
	// CloseStdin closes the container's standard input when Stdin ends (not with a
	// terminal). Right for `run -i` and `start -ai`, whose input was made for this run (Docker's
	// StdinOnce); `attach` leaves it open, so that the end of one client's input does not
	// end a program that others still feed, as in Docker.
	CloseStdin bool
}

// Attach connects opts.Stdin to the standard input of a container made with OpenStdin and,
// with a terminal, opts.Resize to its window size. It returns once connected; the copying
// goes on in the background until Stdin ends or ctx is done. The returned channel then
// receives how the input ended: nil at the end of Stdin, else the error that stopped the
// copy, the reader's (a detach key sequence: the caller decides what ends its session)
// or the connection's (the container stopped).
func (m *Manager) Attach(ctx context.Context, idOrName string, opts AttachOptions) (<-chan error, error) {
	c, err := m.Get(idOrName)
	if err != nil {
		return nil, err
	}
	if !c.Spec.OpenStdin {
		return nil, fmt.Errorf("attach to %s: %w: it was created without -i", c.Name, ErrInvalidSpec)
	}
	if !c.Running() {
		return nil, fmt.Errorf("attach to %s: %w", c.Name, ErrNotRunning)
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: attachAddr(c.ID), Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("attach to %s: %w", c.Name, err)
	}
	var wmu sync.Mutex
	send := func(typ byte, p []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		var hdr [5]byte
		hdr[0] = typ
		binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
		if _, err := conn.Write(hdr[:]); err != nil {
			return err
		}
		_, err := conn.Write(p)
		return err
	}
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	resize := func(sz [2]uint16) error {
		var p [4]byte
		binary.BigEndian.PutUint16(p[:], sz[0])
		binary.BigEndian.PutUint16(p[2:], sz[1])
		return send(frameResize, p[:])
	}
	if opts.Resize != nil {
		// A size already waiting (NotifyResize's current one) goes first, before any
		// input: a program started by the first keys then sees the client's window.
		select {
		case sz, ok := <-opts.Resize:
			if ok {
				_ = resize(sz)
			}
		default:
		}
		go func() {
			for sz := range opts.Resize {
				if resize(sz) != nil {
					return
				}
			}
		}()
	}
	inputDone := make(chan error, 1)
	if opts.Stdin == nil {
		return inputDone, nil
	}
	go func() {
		buf := make([]byte, 16<<10)
		for {
			n, err := opts.Stdin.Read(buf)
			if n > 0 {
				if serr := send(frameData, buf[:n]); serr != nil {
					inputDone <- serr
					return
				}
			}
			if errors.Is(err, io.EOF) {
				if opts.CloseStdin {
					_ = send(frameClose, nil)
				}
				inputDone <- nil
				return
			}
			if err != nil {
				inputDone <- err
				return
			}
		}
	}()
	return inputDone, nil
}

// Attachable returns the container if a client may attach to it now (`attach`): only a
// running one. A stopped container has no output to follow nor input to take, a paused one
// would hold the client without a sign of life, and a restarting one has no process until
// it runs again; Docker refuses all three.
func (m *Manager) Attachable(idOrName string) (*Container, error) {
	c, err := m.Get(idOrName)
	if err != nil {
		return nil, err
	}
	switch c.State.Status {
	case StatusRunning:
		return c, nil
	case StatusPaused:
		return nil, fmt.Errorf("attach to %s: %w", c.Name, ErrPaused)
	case StatusRestarting:
		return nil, fmt.Errorf("attach to %s: %w", c.Name, ErrRestarting)
	}
	return nil, fmt.Errorf("attach to %s: %w", c.Name, ErrNotRunning)
}
