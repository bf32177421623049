package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/stackhq/stack/network"
	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
	"github.com/stackhq/stack/runtime/volume"
	"github.com/stackhq/stack/spec"
)

type runOptions struct {
	rm, noDeps, detach       bool
	noTTY, interactive       bool
	servicePorts, useAliases bool
	name, entrypoint         string
	workdir, user            string
	env, publish, volumes    []string
	labels                   []string
}

func newRunCmd() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [flags] SERVICE [COMMAND [ARG...]]",
		Short: "Run a one-off command in a new container of a service",
		Long: `Create a one-off container from a service's configuration, named
<project>-<service>-run-<id>, and run COMMAND in it (default: the service's command).
up and ps ignore one-off containers; down removes them. The services it depends on are
brought up first, as up would, and waited for as their depends_on condition says,
unless --no-deps. The service's published ports are not published (two containers could
not bind them), unless --service-ports; -p publishes others.

Attached (without -d), the output streams until the command ends and run exits with its
exit status; a pseudo-terminal is allocated when standard input is a terminal, unless -T.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRun(cmd, o, args) },
	}
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.BoolVar(&o.rm, "rm", false, "remove the container when it exits")
	f.BoolVar(&o.noDeps, "no-deps", false, "do not start the services it depends on")
	f.BoolVarP(&o.detach, "detach", "d", false, "run in the background and print the container ID")
	f.BoolVarP(&o.noTTY, "no-TTY", "T", false, "do not allocate a pseudo-terminal (default: one when standard input is a terminal)")
	f.BoolVarP(&o.interactive, "interactive", "i", true, "connect standard input")
	f.BoolVar(&o.servicePorts, "service-ports", false, "publish the service's ports too")
	f.BoolVar(&o.useAliases, "use-aliases", false, "give the container the service's network aliases")
	f.StringVar(&o.name, "name", "", "container name (default <project>-<service>-run-<id>)")
	f.StringVar(&o.entrypoint, "entrypoint", "", `override the entrypoint (split into words as a shell would; "" resets it)`)
	f.StringVarP(&o.workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "user: name, uid, name:group or uid:gid")
	f.StringArrayVarP(&o.env, "env", "e", nil, "set an environment variable KEY=VALUE (KEY alone copies it from here)")
	f.StringArrayVarP(&o.publish, "publish", "p", nil, "publish [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]; the project name is then --project-name")
	f.StringArrayVarP(&o.volumes, "volume", "v", nil, "bind mount or volume [SOURCE:]TARGET[:ro]")
	f.StringArrayVarP(&o.labels, "label", "l", nil, "add a label KEY=VALUE")
	return cmd
}

// oneOffName is compose's name for a `run` container: <project>-<service>-run-<12 hex>.
func oneOffName(project, service string, random [6]byte) string {
	return project + "-" + service + "-run-" + hex.EncodeToString(random[:])
}

// oneOffSpec turns a service's container spec into the one-off's: the run's name and
// labels, no restart policy, the service's ports and aliases only when asked, and the
// flags' overrides.
func (o *runOptions) oneOffSpec(cmd *cobra.Command, rs *runtime.Spec, mounts *[]volume.Mount, argv []string) error {
	rs.Labels[reconcile.LabelOneOff] = "true"
	delete(rs.Labels, reconcile.LabelNumber)
	for _, l := range o.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return fmt.Errorf("--label %q: want KEY=VALUE", l)
		}
		rs.Labels[k] = v
	}
	rs.Restart = runtime.RestartPolicy{}
	rs.AutoRemove = o.rm
	if len(argv) > 0 {
		rs.Cmd = argv
	}
	if cmd.Flags().Changed("entrypoint") {
		words, err := spec.SplitWords(o.entrypoint)
		if err != nil {
			return fmt.Errorf("--entrypoint %q: %w", o.entrypoint, err)
		}
		rs.Entrypoint = words
	}
	if o.workdir != "" {
		rs.WorkingDir = o.workdir
	}
	if o.user != "" {
		rs.User = o.user
	}
	rs.Env = append(rs.Env, envFlags(o.env)...) // later entries win
	if !o.servicePorts {
		rs.Ports = nil
	}
	for _, p := range o.publish {
		ports, err := network.ParsePortSpec(p)
		if err != nil {
			return fmt.Errorf("--publish: %w", err)
		}
		for _, pp := range ports {
			pm := runtime.PortMapping{HostPort: pp.HostPort, ContainerPort: pp.ContainerPort, Protocol: pp.Protocol}
			if pp.HostIP.IsValid() {
				pm.HostIP = pp.HostIP.String()
			}
			rs.Ports = append(rs.Ports, pm)
		}
	}
	if !o.useAliases {
		for i := range rs.Networks {
			rs.Networks[i].Aliases = nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	for _, v := range o.volumes {
		m, err := volume.ParseVolumeFlag(v, wd)
		if err != nil {
			return fmt.Errorf("--volume: %w", err)
		}
		*mounts = append(*mounts, m)
	}
	tty := !o.noTTY && term.IsTerminal(int(os.Stdin.Fd()))
	rs.Tty = tty && !o.detach
	rs.OpenStdin = o.interactive && !o.detach
	return nil
}

func runRun(cmd *cobra.Command, o *runOptions, args []string) error {
	service := args[0]
	ctx := cmd.Context()
	s, err := openStack(cmd, args[:1], true)
	if err != nil {
		return err
	}
	defer s.close()
	svc := s.project.Service(service)
	if svc == nil {
		return fmt.Errorf("%w: no such service: %s", reconcile.ErrUnknownService, service)
	}
	if err := s.upDependencies(cmd, service, o.noDeps); err != nil {
		return err
	}
	rs, mounts := reconcile.ContainerSpec(s.project, svc, 1)
	if err := o.oneOffSpec(cmd, &rs, &mounts, args[1:]); err != nil {
		return err
	}
	rs.Name = o.name
	if rs.Name == "" {
		var random [6]byte
		if _, err := rand.Read(random[:]); err != nil {
			return err
		}
		rs.Name = oneOffName(s.project.Name, service, random)
	}
	c, err := s.engine.Create(ctx, rs, mounts)
	if err != nil {
		return fmt.Errorf("service %s: %w", service, startFailure(err))
	}
	// The project is not locked while the command runs: up, ps or down from another
	// terminal must not wait for it.
	s.close()
	// No detach keys: --rm waits below for the end of the command, which a detached
	// session would not see.
	err = startCreated(cmd, s.engine.Containers, c, o.detach, attachOptions{sigProxy: true, closeStdin: true})
	if o.rm && !o.detach {
		if rerr := s.removeOneOff(context.WithoutCancel(ctx), c.ID); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// removeOneOff completes --rm once the command ended: the monitor removes the container
// (so it goes even if this process dies), but it has no network or volume store; this waits
// for it, then releases the container's endpoints and anonymous volumes, so run returns with
// nothing of the container left.
func (s *stackSession) removeOneOff(ctx context.Context, id string) error {
	if _, err := s.engine.Containers.Wait(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return err
	}
	err := s.engine.Remove(ctx, id, runtime.RemoveOptions{Force: true, Volumes: true})
	if errors.Is(err, runtime.ErrNotFound) {
		err = s.engine.Volumes.Release(id, true)
	}
	if err != nil {
		return err
	}
	return s.engine.Sweep(ctx)
}

// upDependencies brings up what service depends on, as `up` would plan it (networks and
// volumes of the project, images, the dependencies' containers) with the service's own
// image pulled or built, but none of its replicas touched; then it waits until the
// dependencies meet their depends_on conditions. With noDeps only the networks, volumes
// and image are made.
func (s *stackSession) upDependencies(cmd *cobra.Command, service string, noDeps bool) error {
	desired, observed, err := s.observe([]string{service}, noDeps)
	if err != nil {
		return err
	}
	var others []reconcile.ObservedContainer
	for _, c := range observed.Containers {
		if c.Service != service {
			others = append(others, c)
		}
	}
	observed.Containers = others
	p, err := reconcile.PlanUp(desired, observed, reconcile.Options{Pull: reconcile.PullMissing, Scale: map[string]int{service: 0}})
	if err != nil {
		return err
	}
	if !p.Empty() {
		s.buildOutput = cmd.ErrOrStderr()
		if err := applyPlan(cmd.Context(), cmd, s.host(), p, "auto", reconcile.ApplyOptions{}); err != nil {
			return err
		}
	}
	if noDeps {
		return nil
	}
	sel, err := s.selectServices(nil)
	if err != nil {
		return err
	}
	for _, ds := range sel.desired.Services {
		if ds.Name == service {
			return sel.waitDependencies(cmd.Context(), s.host(), ds)
		}
	}
	return nil
}
