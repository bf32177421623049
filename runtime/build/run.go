package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/stackhq/stack/runtime"
)

// A RUN step runs in a container of stack's runtime made from the image so far: its
// read/write layer collects the step's changes, which become the step's layer.
//
//	1. Create: the image so far, entrypoint reset, the command (shell form: SHELL + the
//	   line; heredocs appended as the shell reads them), ENV of the image plus the ARGs in
//	   effect that ENV does not set, WORKDIR (created if missing), USER.
//	2. StartWait + FollowLogs: output streamed to the progress as it comes.
//	3. Exit code != 0: a RunError with the code and the last lines of output; the
//	   container is removed, no image is made.
//	4. The container's upper dir, minus the stubs the runtime created as mount points
//	   (/etc/hosts, /proc, /dev, ...) that the image did not have, is written as the layer.
//	5. The container is removed (deferred, also on failure and cancellation).

// mountStubs are the paths the runtime mounts over; when the image lacks them the runtime
// creates empty stand-ins in the read/write layer, which must not end up in the image.
var mountStubs = []string{"/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/proc", "/sys", "/dev"}

// runOutputLines is how many lines of a failed RUN's output its error keeps.
const runOutputLines = 20

// planRun plans a RUN step.
func (b *builder) planRun(st *state, n *Node) (*step, error) {
	for _, fl := range n.Flags {
		name, _, _ := strings.Cut(fl, "=")
		return nil, fmt.Errorf("RUN flag %s: %w", name, ErrUnsupported)
	}
	if len(n.Args) == 0 {
		return nil, fmt.Errorf("RUN requires a command: %w", ErrSyntax)
	}
	var cmd []string
	if n.JSON {
		cmd = append([]string(nil), n.Args...)
	} else {
		script, err := runScript(n)
		if err != nil {
			return nil, err
		}
		cmd = append(append([]string(nil), st.shell()...), script)
	}
	var argEnv []string
	for k, v := range st.args {
		if _, ok := st.lookupEnv(k); !ok {
			argEnv = append(argEnv, k+"="+v)
		}
	}
	sort.Strings(argEnv)
	text := "RUN " + strings.Join(cmd, " ")
	if n.JSON {
		text = "RUN " + jsonText(cmd)
	}
	return &step{text: text, fs: func(b *builder, st *state, log *stepLog) (string, error) {
		return b.run(st, cmd, argEnv, log)
	}}, nil
}

// runScript is the shell-form command: the line, and the heredoc bodies after it as a
// shell reads them; a line that is only a heredoc marker runs the body as the script.
func runScript(n *Node) (string, error) {
	line := n.Args[0]
	if len(n.Heredocs) == 0 {
		return line, nil
	}
	if len(n.Heredocs) == 1 && reHeredoc().MatchString(strings.TrimSpace(line)) {
		body := n.Heredocs[0].Content
		if strings.HasPrefix(body, "#!") {
			return "", fmt.Errorf("RUN heredoc with a #! interpreter line: %w", ErrUnsupported)
		}
		return body, nil
	}
	var b strings.Builder
	b.WriteString(line)
	b.WriteByte('\n')
	for _, h := range n.Heredocs {
		b.WriteString(h.Content)
		b.WriteString(h.Name)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// run runs cmd in a container of the image so far and returns its layer ("" if the
// command changed nothing).
func (b *builder) run(st *state, cmd, argEnv []string, log *stepLog) (_ string, retErr error) {
	m := b.opts.Runtime
	if m == nil {
		return "", fmt.Errorf("RUN: no container runtime: %w", ErrUnsupported)
	}
	if st.img == nil {
		return "", fmt.Errorf("RUN in an empty image (FROM scratch): there is no command to run: %w", ErrSyntax)
	}
	missing := map[string]bool{}
	for _, p := range mountStubs {
		if !inImage(st.img.LowerDirs(), p) {
			missing[p] = true
		}
	}
	spec := runtime.Spec{
		Image:      st.img.ID,
		Labels:     map[string]string{"stack.build": "run"},
		Entrypoint: []string{},
		Cmd:        cmd,
		Env:        argEnv,
		WorkingDir: st.cfg.WorkingDir,
		User:       st.cfg.User,
	}
	if b.opts.Network != "" {
		if m.Network == nil {
			return "", fmt.Errorf("RUN on network %s: the runtime has no network attacher: %w", b.opts.Network, ErrUnsupported)
		}
		spec.Networks = []runtime.NetworkAttachment{{Name: b.opts.Network}}
	}
	// The container outlives a cancelled build context only until this returns.
	ctx := context.WithoutCancel(b.ctx)
	c, err := m.Create(ctx, spec)
	if err != nil {
		return "", fmt.Errorf("create RUN container: %w", err)
	}
	defer func() {
		if err := m.Remove(ctx, c.ID, runtime.RemoveOptions{Force: true}); err != nil && retErr == nil {
			retErr = fmt.Errorf("remove RUN container: %w", err)
		}
	}()
	// The overlay's root directory takes the mode of the upper directory, which the runtime
	// makes 0700: give it the image's root mode so a USER other than root can reach /.
	if err := os.Chmod(filepath.Join(c.Dir(), "upper"), rootMode(st.img.LowerDirs())); err != nil {
		return "", fmt.Errorf("prepare RUN container: %w", err)
	}
	out := &tailWriter{max: runOutputLines, log: log}
	wait, err := m.StartWait(b.ctx, c.ID)
	if err != nil {
		code := 125
		switch {
		case errors.Is(err, runtime.ErrExecNotFound):
			code = 127
		case errors.Is(err, runtime.ErrExecPermission):
			code = 126
		}
		return "", &RunError{Command: strings.Join(cmd, " "), ExitCode: code, Output: err.Error()}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		runtime.FollowLogs(ctx, c.LogPath(), runtime.LogOptions{Follow: true, Tail: -1}, out, out, done)
	}()
	code, werr := wait(b.ctx)
	close(done)
	wg.Wait()
	if werr != nil {
		return "", fmt.Errorf("wait for RUN: %w", werr)
	}
	if code != 0 {
		return "", &RunError{Command: strings.Join(cmd, " "), ExitCode: code, Output: out.String()}
	}
	upper := filepath.Join(c.Dir(), "upper")
	for p := range missing {
		if err := removeStub(upper, p); err != nil {
			return "", err
		}
	}
	return writeLayer(b.opts.Root, upper)
}

// rootMode is the permission bits of the image's root directory (0755 when no layer has one).
func rootMode(lowers []string) fs.FileMode {
	for _, dir := range lowers {
		if fi, err := os.Stat(dir); err == nil {
			return fi.Mode().Perm()
		}
	}
	return 0o755
}

// inImage reports whether p exists in the layers (top first), stopping at a whiteout.
func inImage(lowers []string, p string) bool {
	for _, dir := range lowers {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		whiteout := fi.Mode()&fs.ModeCharDevice != 0 && ok && st.Rdev == 0
		return !whiteout
	}
	return false
}

// removeStub removes p from the upper dir when it is an empty file or directory the
// runtime created to mount over.
func removeStub(upper, p string) error {
	hp := filepath.Join(upper, p)
	fi, err := os.Lstat(hp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		des, err := os.ReadDir(hp)
		if err != nil || len(des) > 0 {
			return err
		}
	} else if !fi.Mode().IsRegular() || fi.Size() > 0 {
		return nil
	}
	if err := os.Remove(hp); err != nil {
		return fmt.Errorf("remove mount stub %s: %w", p, err)
	}
	return nil
}

// tailWriter passes output on and keeps its last lines for the error of a failed RUN.
type tailWriter struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  []byte
	log   *stepLog
}

func (w *tailWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log.Write(b)
	w.part = append(w.part, b...)
	for {
		i := strings.IndexByte(string(w.part), '\n')
		if i < 0 {
			break
		}
		w.lines = append(w.lines, string(w.part[:i]))
		if len(w.lines) > w.max {
			w.lines = w.lines[1:]
		}
		w.part = w.part[i+1:]
	}
	return len(b), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := w.lines
	if len(w.part) > 0 {
		lines = append(lines[:len(lines):len(lines)], string(w.part))
	}
	return strings.Join(lines, "\n")
}
