package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/reconcile"
	"github.com/stackhq/stack/runtime"
)

type imagesOptions struct {
	quiet  bool
	format string
}

// stackImage is one line of `images`: the image a container of the stack was made from.
type stackImage struct {
	ContainerName string `json:"ContainerName"`
	Repository    string `json:"Repository"`
	Tag           string `json:"Tag"`
	ID            string `json:"ID"`
	Size          int64  `json:"Size"`
}

func newImagesCmd() *cobra.Command {
	o := &imagesOptions{}
	cmd := &cobra.Command{
		Use:   "images [SERVICE...]",
		Short: "List the images the stack's containers were made from",
		RunE:  func(cmd *cobra.Command, args []string) error { return runImages(cmd, o, args) },
	}
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "only the image IDs")
	cmd.Flags().StringVar(&o.format, "format", "table", "output: table or json")
	return cmd
}

func runImages(cmd *cobra.Command, o *imagesOptions, services []string) error {
	if o.format != "table" && o.format != "json" {
		return fmt.Errorf("--format %q: want table or json", o.format)
	}
	s, err := openStack(cmd, services, false)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, name := range services {
		want[name] = true
	}
	cs, err := s.engine.Containers.List(runtime.ListOptions{All: true, Labels: map[string]string{reconcile.LabelProject: s.project.Name}})
	if err != nil {
		return err
	}
	var rows []stackImage
	for _, c := range cs {
		if len(want) > 0 && !want[c.Spec.Labels[reconcile.LabelService]] {
			continue
		}
		repo, tag := splitImageRef(c.Spec.Image)
		row := stackImage{ContainerName: c.Name, Repository: repo, Tag: tag, ID: c.ImageID}
		if img, err := s.engine.Images.Get(c.ImageID); err == nil {
			row.Size = img.Size
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ContainerName < rows[j].ContainerName })
	out := cmd.OutOrStdout()
	switch {
	case o.quiet:
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = shortID(strings.TrimPrefix(r.ID, "sha256:"), false)
		}
		slices.Sort(ids)
		for _, id := range slices.Compact(ids) {
			fmt.Fprintln(out, id)
		}
		return nil
	case o.format == "json":
		if rows == nil {
			rows = []stackImage{}
		}
		return json.NewEncoder(out).Encode(rows)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE")
	for _, r := range rows {
		size := "-" // the image was removed since
		if r.Size > 0 {
			size = humanSize(r.Size)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ContainerName, r.Repository, r.Tag, shortID(strings.TrimPrefix(r.ID, "sha256:"), false), size)
	}
	return tw.Flush()
}

// splitImageRef splits an image reference as written in the stack file into repository and
// tag: "busybox" is busybox:latest, "localhost:5000/app:1" is localhost:5000/app and 1, and
// a reference by digest has the tag "<none>".
func splitImageRef(ref string) (repo, tag string) {
	if r, _, ok := strings.Cut(ref, "@"); ok {
		return r, "<none>"
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}
