package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/moby/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	xterm "golang.org/x/term"

	"github.com/stackhq/stack/runtime"
)

// defaultDetachKeys is Docker's detach sequence.
const defaultDetachKeys = "ctrl-p,ctrl-q"

// attachOptions say how this process joins a container's streams: `container attach`,
// `stack attach`, and `run` or `start -a` in the foreground.
type attachOptions struct {
	noStdin    bool   // do not forward standard input even if the container takes it
	sigProxy   bool   // forward signals to the container's process (not with a terminal)
	detachKeys string // the key sequence that detaches (with a terminal), as given
	keys       []byte // detachKeys parsed by check; empty: no sequence detaches
	closeStdin bool   // the end of our input closes the container's (see runtime.AttachOptions)
}

// bindDetachKeys binds --detach-keys.
func (o *attachOptions) bindDetachKeys(f *pflag.FlagSet) {
	f.StringVar(&o.detachKeys, "detach-keys", defaultDetachKeys, "key sequence that detaches from a container with a terminal, leaving it running (a letter or ctrl-<key>, comma-separated; \"\" for none)")
}

// bindAttach binds the flags of the attach verbs.
func (o *attachOptions) bindAttach(f *pflag.FlagSet) {
	f.BoolVar(&o.noStdin, "no-stdin", false, "do not forward standard input")
	f.BoolVar(&o.sigProxy, "sig-proxy", true, "forward the signals this process receives to the container (not with a terminal)")
	o.bindDetachKeys(f)
}

// check parses --detach-keys, before anything is started, so that a typo starts nothing;
// an empty sequence turns detaching off (for programs that need Ctrl-P themselves).
func (o *attachOptions) check() error {
	if o.detachKeys == "" {
		return nil
	}
	keys, err := term.ToBytes(o.detachKeys)
	if err != nil {
		return fmt.Errorf("--detach-keys %q: %w (want letters or ctrl-a..ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_, comma-separated)", o.detachKeys, err)
	}
	o.keys = keys
	return nil
}

func newContainerAttachCmd() *cobra.Command {
	var o attachOptions
	cmd := &cobra.Command{
		Use:   "attach [flags] CONTAINER",
		Short: "Attach this terminal to a running container: its output from now on, its input, its exit code",
		Long: `Stream a running container's output from now on (not its history) and, if it was
created with -i, forward standard input to it (raw terminal and window size with -t).
Signals go to the container's process unless --sig-proxy=false or it has a terminal
(then Ctrl-C is a key for it). With a terminal, the detach keys (Ctrl-P Ctrl-Q) leave it
running and exit 0; otherwise attach exits with the container's exit code when it stops.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return err
			}
			m, err := openRuntime()
			if err != nil {
				return err
			}
			return runAttach(cmd, m, args[0], o)
		},
	}
	o.bindAttach(cmd.Flags())
	return cmd
}

// runAttach attaches to a running container until it exits or the user detaches
// (`container attach`, `stack attach`).
func runAttach(cmd *cobra.Command, m *runtime.Manager, idOrName string, o attachOptions) error {
	c, err := m.Attachable(idOrName)
	switch {
	case errors.Is(err, runtime.ErrPaused):
		return fmt.Errorf("%w (unpause it first: stack container unpause %s)", err, idOrName)
	case errors.Is(err, runtime.ErrRestarting):
		return fmt.Errorf("%w (wait until it runs again, or stop it)", err)
	case errors.Is(err, runtime.ErrNotRunning):
		return fmt.Errorf("%w: you cannot attach to a stopped container, start it first (stack container start -a %s)", err, idOrName)
	case err != nil:
		return err
	}
	logFile, err := openLogAtEnd(c)
	if err != nil {
		return err
	}
	return attachContainer(cmd, m, c, logFile, func(ctx context.Context) (int, error) { return m.Wait(ctx, c.ID) }, o)
}

// openLogAtEnd opens the container's log at its current end: an attachment streams what is
// written from now on, not the earlier output (nor an earlier run's, for start -a).
func openLogAtEnd(c *runtime.Container) (*os.File, error) {
	f, err := os.Open(c.LogPath())
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// attachContainer joins this process to a started container until it exits: its output
// from logFile (which it closes) to stdout and stderr by stream; this process's input to
// the container's when the container takes it (OpenStdin) and o allows it, in raw mode and
// following the window size with a terminal; signals forwarded when o.sigProxy and there
// is no terminal (with one, Ctrl-C is a key for the container, as in Docker). wait reports
// the exit code, which becomes the command's. The detach keys, read from a terminal
// session's input (Docker scans them only there: without a terminal the input is data),
// end the attachment early with success and leave the container running.
func attachContainer(cmd *cobra.Command, m *runtime.Manager, c *runtime.Container, logFile *os.File, wait func(context.Context) (int, error), o attachOptions) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	var inputDone <-chan error
	if c.Spec.OpenStdin {
		stdin := !o.noStdin
		sizes, restore := localTerminal(c.Spec.Tty && stdin, c.Spec.Tty)
		defer restore()
		ao := runtime.AttachOptions{Resize: sizes, CloseStdin: o.closeStdin}
		if stdin {
			ao.Stdin = cmd.InOrStdin()
			if c.Spec.Tty && len(o.keys) > 0 {
				ao.Stdin = term.NewEscapeProxy(ao.Stdin, o.keys)
			}
		}
		done, err := m.Attach(ctx, c.ID, ao)
		if err != nil {
			// A command that ends at once can be gone before its input is connected; its
			// output and exit code still count.
			if cur, gerr := m.Get(c.ID); gerr == nil && cur.Running() {
				logFile.Close()
				return err
			}
		}
		inputDone = done
	}
	if o.sigProxy && !c.Spec.Tty {
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
		defer signal.Stop(sigs)
		go func() {
			for s := range sigs {
				_ = m.Kill(context.Background(), c.ID, s.(syscall.Signal))
			}
		}()
	}
	logsDone := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		logsDone <- runtime.FollowLogFile(ctx, logFile, runtime.LogOptions{Follow: true, Tail: -1},
			cmd.OutOrStdout(), cmd.ErrOrStderr(), exited)
	}()
	type exit struct {
		code int
		err  error
	}
	waited := make(chan exit, 1)
	go func() {
		code, err := wait(ctx)
		waited <- exit{code, err}
	}()
	for {
		select {
		case err := <-inputDone:
			if errors.As(err, new(term.EscapeError)) {
				cancel()
				<-logsDone
				return nil
			}
			inputDone = nil // our input ended; the output goes on until the container exits
		case r := <-waited:
			close(exited)
			err := r.err
			if lerr := <-logsDone; lerr != nil && err == nil {
				err = lerr
			}
			if err != nil {
				return err
			}
			if r.code != 0 {
				return &exitError{code: r.code}
			}
			return nil
		}
	}
}

// localTerminal prepares this process's terminal for a session with a container's: raw
// mode on standard input when raw (keys reach the container's terminal as typed, Ctrl-C
// included), and the window sizes of standard output when resize. Each is skipped where
// the stream is not a terminal; restore undoes them (`exec -it`, `run -it`, `attach`).
func localTerminal(raw, resize bool) (sizes <-chan [2]uint16, restore func()) {
	var undo []func()
	if in := int(os.Stdin.Fd()); raw && xterm.IsTerminal(in) {
		if old, err := xterm.MakeRaw(in); err == nil {
			undo = append(undo, func() { _ = xterm.Restore(in, old) })
		}
	}
	if out := int(os.Stdout.Fd()); resize && xterm.IsTerminal(out) {
		ch, stop := runtime.NotifyResize(out)
		undo = append(undo, stop)
		sizes = ch
	}
	return sizes, func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
}
