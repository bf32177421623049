package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stackhq/stack/runtime"
)

type execOptions struct {
	interactive, tty, detach bool
	env                      []string
	user, workdir            string
}

func newContainerExecCmd() *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:   "exec [flags] CONTAINER COMMAND [ARG...]",
		Short: "Run a command in a running container; its exit code is passed through",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openRuntime()
			if err != nil {
				return err
			}
			return runExec(cmd, m, args[0], args[1:], o)
		},
	}
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.BoolVarP(&o.interactive, "interactive", "i", false, "keep standard input open")
	f.BoolVarP(&o.tty, "tty", "t", false, "allocate a pseudo-terminal")
	o.bindProcess(f)
	return cmd
}

// bindProcess binds the flags that shape the exec'd process (`container exec`, `stack exec`).
func (o *execOptions) bindProcess(f *pflag.FlagSet) {
	f.BoolVarP(&o.detach, "detach", "d", false, "run in the background")
	f.StringArrayVarP(&o.env, "env", "e", nil, "set an environment variable KEY=VALUE (KEY alone copies it from here)")
	f.StringVarP(&o.user, "user", "u", "", "user: name, uid, name:group or uid:gid")
	f.StringVarP(&o.workdir, "workdir", "w", "", "working directory inside the container")
}

// runExec runs argv in a running container with the terminal handling o asks for, and
// passes the process's exit code through (`container exec` and `stack exec`).
func runExec(cmd *cobra.Command, m *runtime.Manager, container string, argv []string, o execOptions) error {
	opts := runtime.ExecOptions{
		Cmd: argv, User: o.user, WorkingDir: o.workdir, Tty: o.tty,
		Interactive: o.interactive, Detach: o.detach,
		Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
	}
	opts.Env = envFlags(o.env)
	if o.interactive {
		opts.Stdin = cmd.InOrStdin()
	}
	sizes, restore := localTerminal(o.tty && o.interactive, o.tty)
	defer restore()
	opts.Resize = sizes
	code, err := m.Exec(cmd.Context(), container, opts)
	if err != nil {
		if code != 0 {
			return &exitError{code: code, err: err}
		}
		return err
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}
