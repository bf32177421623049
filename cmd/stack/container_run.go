package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stackhq/stack/runtime"
	"github.com/stackhq/stack/runtime/volume"
)

// createOptions are the flags of `container create` and `container run`.
type createOptions struct {
	name, workdir, user, hostname, domainname string
	entrypoint                                string
	env, envFiles, labels                     []string
	memory                                    string
	cpus                                      float64
	pidsLimit                                 int64
	restart                                   string
	init, readOnly, privileged, rm            bool
	interactive, tty                          bool
	capAdd, capDrop, securityOpt              []string
	ulimits, sysctls, addHosts                []string
	stopSignal                                string
	stopTimeout                               int
	healthCmd                                 string
	healthInterval, healthTimeout             time.Duration
	healthStartPeriod, healthStartInterval    time.Duration
	healthRetries                             int
	noHealthcheck                             bool
	netVol                                    netVolOptions
}

func (o *createOptions) bind(f *pflag.FlagSet) {
	f.StringVar(&o.name, "name", "", "container name (default: generated)")
	stringArrayVarP(f, &o.env, "env", "e", "set an environment variable KEY=VALUE (KEY alone copies it from here)")
	stringArrayVarP(f, &o.envFiles, "env-file", "", "read environment variables from a file")
	stringArrayVarP(f, &o.labels, "label", "l", "set a label KEY=VALUE")
	f.StringVarP(&o.workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "user: name, uid, name:group or uid:gid")
	f.StringVar(&o.hostname, "hostname", "", "container hostname (default: the short ID)")
	f.StringVar(&o.domainname, "domainname", "", "container NIS domain name")
	f.StringVar(&o.entrypoint, "entrypoint", "", `override the image's entrypoint ("" resets it)`)
	f.StringVarP(&o.memory, "memory", "m", "", "memory limit (e.g. 512m, 1g)")
	f.Float64Var(&o.cpus, "cpus", 0, "CPU quota in cores (e.g. 0.5)")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "maximum number of processes (0: unlimited)")
	f.StringVar(&o.restart, "restart", "no", "restart policy: no, always, unless-stopped, on-failure[:N]")
	f.BoolVar(&o.init, "init", false, "run a tiny init as PID 1 that forwards signals and reaps zombies")
	f.BoolVar(&o.readOnly, "read-only", false, "mount the root filesystem read-only")
	f.BoolVar(&o.privileged, "privileged", false, "all capabilities, no seccomp, writable /sys")
	stringArrayVarP(f, &o.capAdd, "cap-add", "", "add a capability (or ALL)")
	stringArrayVarP(f, &o.capDrop, "cap-drop", "", "drop a capability (or ALL)")
	stringArrayVarP(f, &o.securityOpt, "security-opt", "", "no-new-privileges, seccomp=unconfined, seccomp=PROFILE.json (read now)")
	stringArrayVarP(f, &o.ulimits, "ulimit", "", "resource limit NAME=SOFT[:HARD] (e.g. nofile=1024:2048)")
	stringArrayVarP(f, &o.sysctls, "sysctl", "", "namespaced sysctl KEY=VALUE")
	stringArrayVarP(f, &o.addHosts, "add-host", "", "add HOST:IP to /etc/hosts")
	f.StringVar(&o.stopSignal, "stop-signal", "", "signal that stops the container (default: the image's or SIGTERM)")
	f.IntVar(&o.stopTimeout, "stop-timeout", -1, "seconds to wait for a stop before SIGKILL (default 10)")
	f.StringVar(&o.healthCmd, "health-cmd", "", "healthcheck command (run by /bin/sh -c)")
	f.DurationVar(&o.healthInterval, "health-interval", 0, "time between healthchecks (default 30s)")
	f.DurationVar(&o.healthTimeout, "health-timeout", 0, "healthcheck timeout (default 30s)")
	f.DurationVar(&o.healthStartPeriod, "health-start-period", 0, "grace period before failures count")
	f.DurationVar(&o.healthStartInterval, "health-start-interval", 0, "time between checks during the start period")
	f.IntVar(&o.healthRetries, "health-retries", 0, "consecutive failures to be unhealthy (default 3)")
	f.BoolVar(&o.noHealthcheck, "no-healthcheck", false, "disable the image's healthcheck")
	f.BoolVarP(&o.interactive, "interactive", "i", false, "keep standard input open")
	f.BoolVarP(&o.tty, "tty", "t", false, "allocate a pseudo-terminal")
	f.BoolVar(&o.rm, "rm", false, "remove the container when it exits")
	o.netVol.bind(f)
}

// spec turns the flags and positional arguments (IMAGE [COMMAND [ARG...]]) into a Spec.
func (o *createOptions) spec(cmd *cobra.Command, args []string) (runtime.Spec, error) {
	s := runtime.Spec{
		Name: o.name, Image: args[0], WorkingDir: o.workdir, User: o.user, Hostname: o.hostname,
		Domainname: o.domainname, Tty: o.tty, OpenStdin: o.interactive, Init: o.init,
		ReadOnly: o.readOnly, Privileged: o.privileged, AutoRemove: o.rm,
		CapAdd: o.capAdd, CapDrop: o.capDrop,
		CPUs: o.cpus, PidsLimit: o.pidsLimit, ExtraHosts: o.addHosts, StopSignal: o.stopSignal,
	}
	if len(args) > 1 {
		s.Cmd = args[1:]
	}
	if cmd.Flags().Changed("entrypoint") {
		s.Entrypoint = []string{}
		if o.entrypoint != "" {
			s.Entrypoint = []string{o.entrypoint}
		}
	}
	for _, f := range o.envFiles {
		env, err := readEnvFile(f)
		if err != nil {
			return s, fmt.Errorf("--env-file: %w", err)
		}
		s.Env = append(s.Env, env...)
	}
	s.Env = append(s.Env, envFlags(o.env)...)
	secOpts, err := runtime.ReadSeccompProfiles(o.securityOpt)
	if err != nil {
		return s, fmt.Errorf("--security-opt: %w", err)
	}
	s.SecurityOpt = secOpts
	if len(o.labels) > 0 {
		s.Labels = map[string]string{}
		for _, l := range o.labels {
			k, v, _ := strings.Cut(l, "=")
			s.Labels[k] = v
		}
	}
	if o.memory != "" {
		n, err := units.RAMInBytes(o.memory)
		if err != nil {
			return s, fmt.Errorf("--memory %q: %w", o.memory, err)
		}
		s.Memory = n
	}
	p, err := runtime.ParseRestartPolicy(o.restart)
	if err != nil {
		return s, fmt.Errorf("--restart: %w", err)
	}
	s.Restart = p
	if o.stopTimeout >= 0 {
		d := time.Duration(o.stopTimeout) * time.Second
		s.StopTimeout = &d
	}
	for _, u := range o.ulimits {
		name, val, ok := strings.Cut(u, "=")
		soft, hard, hasHard := strings.Cut(val, ":")
		if !hasHard {
			hard = soft
		}
		sv, err1 := strconv.ParseInt(soft, 10, 64)
		hv, err2 := strconv.ParseInt(hard, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return s, fmt.Errorf("--ulimit %q: want NAME=SOFT[:HARD]", u)
		}
		s.Ulimits = append(s.Ulimits, runtime.Ulimit{Name: name, Soft: sv, Hard: hv})
	}
	for _, kv := range o.sysctls {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return s, fmt.Errorf("--sysctl %q: want KEY=VALUE", kv)
		}
		if s.Sysctls == nil {
			s.Sysctls = map[string]string{}
		}
		s.Sysctls[k] = v
	}
	switch {
	case o.noHealthcheck:
		s.Healthcheck = &runtime.Healthcheck{Test: []string{"NONE"}}
	case o.healthCmd != "":
		s.Healthcheck = &runtime.Healthcheck{
			Test: []string{"CMD-SHELL", o.healthCmd}, Interval: o.healthInterval, Timeout: o.healthTimeout,
			StartPeriod: o.healthStartPeriod, StartInterval: o.healthStartInterval, Retries: o.healthRetries,
		}
	}
	return s, o.netVol.apply(&s)
}

// envFlags resolves -e flags: KEY=VALUE as given, KEY alone copied from this process's
// environment (left out when unset here), as docker does.
func envFlags(flags []string) []string {
	var out []string
	for _, e := range flags {
		if !strings.Contains(e, "=") {
			v, ok := os.LookupEnv(e)
			if !ok {
				continue
			}
			e += "=" + v
		}
		out = append(out, e)
	}
	return out
}

// readEnvFile reads KEY=VALUE lines (docker's --env-file: # comments, KEY alone copies the
// variable from this environment).
func readEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	return envFlags(lines), sc.Err()
}

func newContainerCreateCmd() *cobra.Command {
	var o createOptions
	cmd := &cobra.Command{
		Use:   "create [flags] IMAGE [COMMAND [ARG...]]",
		Short: "Create a container without starting it",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := o.spec(cmd, args)
			if err != nil {
				return err
			}
			e, err := openEngine()
			if err != nil {
				return err
			}
			c, err := createContainer(cmd.Context(), e, spec, o.netVol.parsedMounts)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), c.ID)
			return nil
		},
	}
	cmd.Flags().SetInterspersed(false)
	o.bind(cmd.Flags())
	return cmd
}

func newContainerRunCmd() *cobra.Command {
	var o createOptions
	var detach bool
	ao := attachOptions{closeStdin: true}
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE [COMMAND [ARG...]]",
		Short: "Create and start a container (in the foreground unless -d)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ao.check(); err != nil {
				return err
			}
			spec, err := o.spec(cmd, args)
			if err != nil {
				return err
			}
			return runContainer(cmd, spec, o.netVol.parsedMounts, detach, ao)
		},
	}
	cmd.Flags().SetInterspersed(false)
	o.bind(cmd.Flags())
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "run in the background and print the container ID")
	cmd.Flags().BoolVar(&ao.sigProxy, "sig-proxy", true, "forward the signals this process receives to the container (not with -t)")
	ao.bindDetachKeys(cmd.Flags())
	return cmd
}

// runContainer is `run`: create, start, and unless detached stream the output (and the
// terminal's input with -it) until the container exits, then exit with its code.
func runContainer(cmd *cobra.Command, spec runtime.Spec, mounts []volume.Mount, detach bool, ao attachOptions) error {
	ctx := cmd.Context()
	e, err := openEngine()
	if err != nil {
		return err
	}
	m := e.Containers
	m.Prefork() // the container's monitor starts up while the container is created
	c, err := createContainer(ctx, e, spec, mounts)
	if err != nil {
		return err
	}
	return startCreated(cmd, m, c, detach, ao)
}

// startCreated starts a created container: detached, it prints the ID and returns; else it
// attaches as ao says until the container exits and exits with its code (`container run`,
// `stack run`). A failed start of a --rm container removes it.
func startCreated(cmd *cobra.Command, m *runtime.Manager, c *runtime.Container, detach bool, ao attachOptions) error {
	ctx := cmd.Context()
	if detach {
		if err := m.Start(ctx, c.ID); err != nil {
			return startFailure(err)
		}
		fmt.Fprintln(cmd.OutOrStdout(), c.ID)
		return nil
	}
	// Opened before the start: a --rm container that ends at once takes its log with it.
	logFile, err := os.Open(c.LogPath())
	if err != nil {
		return err
	}
	wait, err := m.StartWait(ctx, c.ID)
	if err != nil {
		logFile.Close()
		if c.Spec.AutoRemove {
			_ = m.Remove(context.Background(), c.ID, runtime.RemoveOptions{Force: true})
		}
		return startFailure(err)
	}
	return attachContainer(cmd, m, c, logFile, wait, ao)
}

// stringArray is pflag's stringArray flag value — each use of the flag adds a value, the
// first replaces the default — without its cost: pflag renders each default through
// encoding/csv with a 4 KiB buffer when the flag is defined, which for the ~15 repeatable
// flags of run and create was most of the time spent building the command.
type stringArray struct {
	p       *[]string
	changed bool
}

// stringArrayVarP is f.StringArrayVarP(p, name, shorthand, nil, usage) with a cheap value;
// --help prints the same (the type, and no default for an empty one).
func stringArrayVarP(f *pflag.FlagSet, p *[]string, name, shorthand, usage string) {
	f.VarPF(&stringArray{p: p}, name, shorthand, usage).DefValue = ""
}

func (s *stringArray) Set(v string) error {
	if !s.changed {
		*s.p, s.changed = []string{v}, true
		return nil
	}
	*s.p = append(*s.p, v)
	return nil
}

func (s *stringArray) Type() string { return "stringArray" }

// String is what pflag's gives: the values as one CSV record, in brackets.
func (s *stringArray) String() string {
	if len(*s.p) == 0 {
		return "[]"
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(*s.p)
	w.Flush()
	return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
}

// Append, Replace and GetSlice make it a pflag.SliceValue, as pflag's is.
func (s *stringArray) Append(v string) error { *s.p = append(*s.p, v); return nil }

func (s *stringArray) Replace(vs []string) error { *s.p = slices.Clone(vs); return nil }

func (s *stringArray) GetSlice() []string { return slices.Clone(*s.p) }
