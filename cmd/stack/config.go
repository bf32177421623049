package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/stackhq/stack/spec"
)

// configOptions are the flags of `stack config`.
type configOptions struct {
	format   string // yaml or json
	services bool   // list the service names
	volumes  bool   // list the volume names
	hash     string // print the config hash of this service ("*" for all)
	quiet    bool   // only validate
}

func newConfigCmd() *cobra.Command {
	o := &configOptions{}
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Validate the stack file and print it in canonical form",
		Long: `Load the stack file (-f, merged in order, with --env-file, --profile and -p), validate
it and print the canonical model: every default applied, ports and volumes in long syntax,
paths absolute. The YAML output is itself a valid stack file.

Exit status 0 when the file is valid; 1 with every problem (file:line:column) otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConfig(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "yaml", "output format: yaml or json")
	f.BoolVar(&o.services, "services", false, "print the names of the active services")
	f.BoolVar(&o.volumes, "volumes", false, "print the names of the top-level volumes")
	f.StringVar(&o.hash, "hash", "", `print "SERVICE HASH" for this service ("*" for every service)`)
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only validate, print nothing")
	cmd.MarkFlagsMutuallyExclusive("services", "volumes", "hash", "quiet")
	return cmd
}

func runConfig(cmd *cobra.Command, o *configOptions) error {
	if o.format != "yaml" && o.format != "json" {
		return fmt.Errorf("--format: want yaml or json, not %q", o.format)
	}
	var selected []string
	if o.hash != "" && o.hash != "*" {
		selected = []string{o.hash}
	}
	p, err := loadProject(cmd, selected)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	switch {
	case o.quiet:
		return nil
	case o.services:
		return printList(out, o.format, p.ServiceNames())
	case o.volumes:
		names := make([]string, 0, len(p.Volumes))
		for k := range p.Volumes {
			names = append(names, k)
		}
		sort.Strings(names)
		return printList(out, o.format, names)
	case o.hash != "":
		services := p.Services
		if o.hash != "*" {
			services = []*spec.Service{p.Service(o.hash)}
		}
		hashes := make(map[string]string, len(services))
		for _, s := range services {
			hashes[s.Name] = s.ConfigHash()
		}
		if o.format == "json" {
			return writeJSON(out, hashes)
		}
		for _, s := range services {
			if _, err := fmt.Fprintf(out, "%s %s\n", s.Name, hashes[s.Name]); err != nil {
				return err
			}
		}
		return nil
	case o.format == "json":
		return writeJSON(out, p)
	}
	enc := yaml.NewEncoder(out)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return enc.Close()
}

// printList prints names one per line, or as a JSON array.
func printList(w io.Writer, format string, names []string) error {
	if format == "json" {
		return writeJSON(w, names)
	}
	for _, n := range names {
		if _, err := fmt.Fprintln(w, n); err != nil {
			return err
		}
	}
	return nil
}

// writeJSONLines writes one JSON object per line, docker's `--format json` for listings.
func writeJSONLines[T any](w io.Writer, rows []T) error {
	enc := json.NewEncoder(w)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write json: %w", err)
		}
	}
	return nil
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
