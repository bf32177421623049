package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/stackhq/stack/runtime/image"
)

type imageInspectOptions struct {
	format string
}

func newImageInspectCmd() *cobra.Command {
	var o imageInspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Print the details of images as JSON (or through a Go template)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImageInspect(cmd.OutOrStdout(), args, o)
		},
	}
	cmd.Flags().StringVarP(&o.format, "format", "f", "json", "json, or a Go template applied to each image (e.g. '{{.Id}}', '{{json .Config}}')")
	return cmd
}

// imageInspect is the JSON shape of `image inspect`, docker's field names.
type imageInspect struct {
	Id           string    `json:"Id"` // docker's spelling, which --format templates use
	RepoTags     []string  `json:"RepoTags"`
	RepoDigests  []string  `json:"RepoDigests"`
	Parent       string    `json:"Parent"` // the image a build step was made from, "" for others
	Created      time.Time `json:"Created"`
	Author       string    `json:"Author"`
	Config       v1.Config `json:"Config"`
	Architecture string    `json:"Architecture"`
	Variant      string    `json:"Variant,omitempty"`
	Os           string    `json:"Os"`
	Size         int64     `json:"Size"`
	GraphDriver  struct {
		Name string            `json:"Name"`
		Data map[string]string `json:"Data"`
	} `json:"GraphDriver"`
	RootFS struct {
		Type   string   `json:"Type"`
		Layers []string `json:"Layers"`
	} `json:"RootFS"`
	Metadata struct {
		LastTagTime time.Time `json:"LastTagTime"`
	} `json:"Metadata"`
	Manifest string `json:"Manifest"`
}

func inspectOf(img *image.Image) imageInspect {
	v := imageInspect{
		Id:           img.ID,
		RepoTags:     nonNil(img.RepoTags),
		RepoDigests:  nonNil(img.RepoDigests),
		Parent:       img.Parent,
		Created:      img.Config.Created.Time,
		Author:       img.Config.Author,
		Config:       img.Config.Config,
		Architecture: img.Config.Architecture,
		Variant:      img.Config.Variant,
		Os:           img.Config.OS,
		Size:         img.Size,
		Manifest:     img.Manifest.String(),
	}
	v.GraphDriver.Name = "overlay"
	v.GraphDriver.Data = map[string]string{}
	if len(img.Layers) > 0 {
		v.GraphDriver.Data["LowerDir"] = strings.Join(img.LowerDirs(), ":")
	}
	v.RootFS.Type = "layers"
	v.RootFS.Layers = []string{}
	for _, l := range img.Layers {
		v.RootFS.Layers = append(v.RootFS.Layers, l.DiffID.String())
	}
	v.Metadata.LastTagTime = img.Added
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func runImageInspect(w io.Writer, refs []string, o imageInspectOptions) error {
	tmpl, err := parseFormat(o.format)
	if err != nil {
		return err
	}
	s, err := openImageStore()
	if err != nil {
		return err
	}
	var out []imageInspect
	for _, ref := range refs {
		img, err := s.Get(ref)
		if err != nil {
			return err
		}
		out = append(out, inspectOf(img))
	}
	return printInspect(w, tmpl, out)
}

// parseFormat parses an inspect --format: nil for "json" (or ""), else a Go template with
// docker's most used functions (json, join, lower, upper).
func parseFormat(format string) (*template.Template, error) {
	if format == "json" || format == "" {
		return nil, nil
	}
	tmpl, err := template.New("format").Funcs(template.FuncMap{
		"json":  func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err },
		"join":  strings.Join,
		"lower": strings.ToLower,
		"upper": strings.ToUpper,
	}).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	return tmpl, nil
}

// printInspect prints inspect results as an indented JSON array (tmpl nil), as docker
// does, or each through tmpl on a line of its own.
func printInspect[T any](w io.Writer, tmpl *template.Template, items []T) error {
	if tmpl == nil {
		if items == nil {
			items = []T{}
		}
		data, err := json.MarshalIndent(items, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(data))
		return err
	}
	for _, v := range items {
		if err := tmpl.Execute(w, v); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Fprintln(w)
	}
	return nil
}
