package main

import (
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// globalOptions are the store root, which every verb accepts, and the project flags, which
// the stack's verbs (config, up, down, ps, ...) accept before or after the verb, as compose
// does. The docker-style groups (container, image, network, volume) do not take the
// project flags: there -f means --force or --follow and -p --publish, as in docker.
type globalOptions struct {
	root     string   // store root (--root, STACK_ROOT)
	files    []string // stack files (-f), "-" for standard input
	project  string   // project name (-p)
	envFiles []string // --env-file
	profiles []string // --profile
}

var global globalOptions

// newRootCmd returns the whole command tree (help, completion, suggestions, tests).
func newRootCmd() *cobra.Command { return newRootCmdFor(nil) }

// verb is a command of the tree, listed with the names it answers to so that it can be
// built only when the command line names it: building every command (~70, with ~600 flags)
// took about 1 ms of each run of the binary, more than the rest of `container run`'s own
// work before the container starts. TestVerbTables checks the names against the commands.
type verb struct {
	names   []string // the command's name, then its aliases
	project bool     // a stack verb: it takes the project flags
	build   func(args []string) *cobra.Command
}

// leaf adapts the constructor of a command without sub-commands to verb.build.
func leaf(newCmd func() *cobra.Command) func([]string) *cobra.Command {
	return func([]string) *cobra.Command { return newCmd() }
}

// rootVerbs are the commands of the root, in the order they are added.
var rootVerbs = []verb{
	{names: []string{"version"}, build: leaf(newVersionCmd)},
	{names: []string{"container"}, build: newContainerCmd},
	{names: []string{"image"}, build: leaf(newImageCmd)},
	{names: []string{"network"}, build: leaf(newNetworkCmd)},
	{names: []string{"volume"}, build: leaf(newVolumeCmd)},
	{names: []string{"ls"}, build: leaf(newLsCmd)},
	{names: []string{"config"}, project: true, build: leaf(newConfigCmd)},
	{names: []string{"up"}, project: true, build: leaf(newUpCmd)},
	{names: []string{"down"}, project: true, build: leaf(newDownCmd)},
	{names: []string{"diff", "plan"}, project: true, build: leaf(newDiffCmd)},
	{names: []string{"logs"}, project: true, build: leaf(newLogsCmd)},
	{names: []string{"ps"}, project: true, build: leaf(newPsCmd)},
	{names: []string{"start"}, project: true, build: leaf(newStartCmd)},
	{names: []string{"stop"}, project: true, build: leaf(newStopCmd)},
	{names: []string{"restart"}, project: true, build: leaf(newRestartCmd)},
	{names: []string{"pause"}, project: true, build: leaf(newPauseCmd)},
	{names: []string{"unpause"}, project: true, build: leaf(newUnpauseCmd)},
	{names: []string{"kill"}, project: true, build: leaf(newKillCmd)},
	{names: []string{"rm", "remove"}, project: true, build: leaf(newRmCmd)},
	{names: []string{"exec"}, project: true, build: leaf(newExecCmd)},
	{names: []string{"attach"}, project: true, build: leaf(newAttachCmd)},
	{names: []string{"run"}, project: true, build: leaf(newRunCmd)},
	{names: []string{"port"}, project: true, build: leaf(newPortCmd)},
	{names: []string{"top"}, project: true, build: leaf(newTopCmd)},
	{names: []string{"images"}, project: true, build: leaf(newImagesCmd)},
	{names: []string{"pull"}, project: true, build: leaf(newPullCmd)},
	{names: []string{"build"}, project: true, build: leaf(newBuildCmd)},
	{names: []string{"events"}, project: true, build: leaf(newEventsCmd)},
	{names: []string{"wait"}, project: true, build: leaf(newWaitCmd)},
}

// newRootCmdFor returns the command tree for a command line (args after hoistProjectFlags):
// when args name a verb, only that verb's command is built (and, for a group, only the
// sub-command named next), which is all cobra looks at to run it; otherwise — no verb, a
// typo to suggest a verb for, help, completion — the whole tree.
func newRootCmdFor(args []string) *cobra.Command {
	root := &cobra.Command{
		Use:           "stack",
		Short:         "Run multi-container stacks from a compose-compatible stack file, on stack's own runtime",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	defRoot := os.Getenv("STACK_ROOT")
	if defRoot == "" {
		defRoot = "/var/lib/stack"
	}
	pf := root.PersistentFlags()
	pf.StringVar(&global.root, "root", defRoot, "store root (env STACK_ROOT)")
	if addVerbs(root, rootVerbs, args) {
		// A verb was named, so `completion` was not: cobra need not build its commands.
		root.CompletionOptions.DisableDefaultCmd = true
	}
	return root
}

// addVerbs adds to parent the verb that args name (args are what follows parent on the
// command line), or every verb when they name none; it reports whether one was named.
func addVerbs(parent *cobra.Command, verbs []verb, args []string) bool {
	name, rest := nextVerb(args)
	for _, v := range verbs {
		if name != "" && slices.Contains(v.names, name) {
			addVerb(parent, v, rest)
			return true
		}
	}
	for _, v := range verbs {
		addVerb(parent, v, nil)
	}
	return false
}

func addVerb(parent *cobra.Command, v verb, args []string) {
	c := v.build(args)
	if v.project {
		addProjectFlags(c)
	}
	parent.AddCommand(c)
}

// nextVerb returns the first argument that is not a flag, and the arguments after it. Only
// the flags hoistProjectFlags leaves before a verb occur there (--root DIR, the project
// flags); any other flag stops the search, and the whole tree is built.
func nextVerb(args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a, args[i+1:]
		}
		name, _, hasValue := strings.Cut(a, "=")
		if !projectFlagsWithValue[name] {
			return "", nil
		}
		if !hasValue {
			i++
		}
	}
	return "", nil
}

// addProjectFlags gives a stack verb the flags that name the stack. A verb whose own flag
// has the shorthand -f or -p (compose's `rm -f` force, `run -p` publish) keeps it, and the
// project flag is then only --file or --project-name there (before the verb, -f and -p
// still name the stack: hoistProjectFlags writes them in their long form).
func addProjectFlags(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	short := func(s string) string {
		if cmd.Flags().ShorthandLookup(s) != nil {
			return ""
		}
		return s
	}
	pf.StringArrayVarP(&global.files, "file", short("f"), nil, "stack file (repeatable; - reads standard input)")
	pf.StringVarP(&global.project, "project-name", short("p"), "", "project name (default: name: in the file, else its directory)")
	pf.StringArrayVar(&global.envFiles, "env-file", nil, "file of variables for interpolation (default: .env beside the stack file)")
	pf.StringArrayVar(&global.profiles, "profile", nil, "enable services of this profile (repeatable)")
}

// projectFlagsWithValue are the flags hoistProjectFlags moves; each takes a value.
var projectFlagsWithValue = map[string]bool{
	"-f": true, "--file": true, "-p": true, "--project-name": true,
	"--env-file": true, "--profile": true, "--root": true,
}

// longProjectFlags are the long forms of the project flags' shorthands.
var longProjectFlags = map[string]string{"-f": "--file", "-p": "--project-name"}

// hoistProjectFlags moves the flags written before the verb (`stack -f a.yaml -p demo up`)
// to just after it, in their long form (`stack up --file a.yaml --project-name demo`), where
// the verb's own flag set parses them; the long form is unambiguous on verbs where -f or -p
// is a flag of their own. Anything else before the verb is left in place for cobra to report.
func hoistProjectFlags(args []string) []string {
	var lead []string
	i := 0
	for i < len(args) {
		a := args[i]
		name, value, hasValue := strings.Cut(a, "=")
		switch {
		case projectFlagsWithValue[name] && hasValue:
			if long, ok := longProjectFlags[name]; ok {
				a = long + "=" + value
			}
			lead = append(lead, a)
			i++
		case projectFlagsWithValue[a] && i+1 < len(args):
			if long, ok := longProjectFlags[a]; ok {
				a = long
			}
			lead = append(lead, a, args[i+1])
			i += 2
		case len(a) > 2 && (strings.HasPrefix(a, "-f") || strings.HasPrefix(a, "-p")) && a[1] != '-':
			lead = append(lead, longProjectFlags[a[:2]]+"="+a[2:]) // -fstack.yaml
			i++
		default:
			if i == len(args) || strings.HasPrefix(a, "-") || len(lead) == 0 {
				return args
			}
			out := append([]string{a}, lead...)
			return append(out, args[i+1:]...)
		}
	}
	return args
}
