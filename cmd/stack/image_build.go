package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/network"
	"github.com/stackhq/stack/runtime/build"
)

type imageBuildOptions struct {
	tags      []string
	file      string
	buildArgs []string
	target    string
	noCache   bool
	labels    []string
	progress  string
	quiet     bool
	network   string
}

func newImageBuildCmd() *cobra.Command {
	o := &imageBuildOptions{}
	cmd := &cobra.Command{
		Use:   "build [flags] DIR",
		Short: "Build an image from a Dockerfile",
		Long: `Build an image from the Dockerfile in DIR (or -f), with DIR as the build context.
Each step is cached (key: parent image, instruction, build args, content of copied files);
a rebuild with nothing changed reuses every step. Progress goes to standard error; the
image ID goes to standard output.`,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImageBuild(cmd, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.tags, "tag", "t", nil, "name the image name[:tag] (repeatable)")
	f.StringVarP(&o.file, "file", "f", "", "Dockerfile path (default DIR/Dockerfile)")
	f.StringArrayVar(&o.buildArgs, "build-arg", nil, "set a build-time variable NAME=VALUE, or NAME to take it from the environment (repeatable)")
	f.StringVar(&o.target, "target", "", "build this stage (default: the last)")
	f.BoolVar(&o.noCache, "no-cache", false, "do not use the build cache")
	f.StringArrayVar(&o.labels, "label", nil, "set a label KEY=VALUE on the image (repeatable)")
	f.StringVar(&o.progress, "progress", "auto", "progress output: auto, plain, tty or quiet")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only the image ID")
	f.StringVar(&o.network, "network", network.DefaultNetwork, `network of the RUN steps ("none": loopback only)`)
	return cmd
}

// parseBuildArgs reads --build-arg flags: NAME=VALUE, or NAME to take the value from the
// environment (left out when unset there, as Docker does).
func parseBuildArgs(flags []string) (map[string]string, error) {
	args := map[string]string{}
	for _, a := range flags {
		k, v, ok := strings.Cut(a, "=")
		if k == "" {
			return nil, fmt.Errorf("--build-arg %q: want NAME=VALUE or NAME", a)
		}
		if !ok {
			env, set := os.LookupEnv(k)
			if !set {
				continue
			}
			v = env
		}
		args[k] = v
	}
	return args, nil
}

func runImageBuild(cmd *cobra.Command, o *imageBuildOptions, dir string) error {
	mode := build.ProgressMode(o.progress)
	switch {
	case o.quiet:
		mode = build.ProgressQuiet
	case o.progress == "auto":
		mode = build.ProgressPlain
		if isTerminal(os.Stderr) {
			mode = build.ProgressTTY
		}
	default:
		var err error
		if mode, err = build.ParseProgressMode(o.progress); err != nil {
			return fmt.Errorf("--progress: %w", err)
		}
	}
	args, err := parseBuildArgs(o.buildArgs)
	if err != nil {
		return err
	}
	labels := map[string]string{}
	for _, l := range o.labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return fmt.Errorf("--label %q: want KEY=VALUE", l)
		}
		labels[k] = v
	}
	dockerfile := o.file
	if dockerfile != "" {
		abs, err := filepath.Abs(dockerfile)
		if err != nil {
			return fmt.Errorf("--file: %w", err)
		}
		dockerfile = abs
	}
	store, err := openImageStore()
	if err != nil {
		return err
	}
	e, err := openEngine()
	if err != nil {
		return err
	}
	mgr := e.Containers
	runNet := o.network
	if runNet == network.NoNetwork {
		runNet = ""
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	img, err := build.Build(ctx, build.Options{
		Root:       global.root,
		Store:      store,
		Runtime:    mgr,
		Network:    runNet,
		ContextDir: dir,
		Dockerfile: dockerfile,
		Args:       args,
		Target:     o.target,
		Tags:       o.tags,
		Labels:     labels,
		NoCache:    o.noCache,
		Progress:   cmd.ErrOrStderr(),
		Mode:       mode,
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), img.ID)
	return err
}
