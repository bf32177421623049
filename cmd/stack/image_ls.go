package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/runtime/image"
)

type imageLsOptions struct {
	all     bool
	quiet   bool
	format  string
	digests bool
	noTrunc bool
	total   bool
}

func newImageLsCmd() *cobra.Command {
	var o imageLsOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS] [REPOSITORY[:TAG]]",
		Aliases: []string{"list"},
		Short:   "List images",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			filter := ""
			if len(args) == 1 {
				filter = args[0]
			}
			return runImageLs(cmd.OutOrStdout(), filter, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "show all images (intermediate images, the untagged parents of others, are hidden by default)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only image IDs")
	f.StringVar(&o.format, "format", "table", "output format: table or json (one JSON object per line, as docker)")
	f.BoolVar(&o.digests, "digests", false, "show digests")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "show full image IDs")
	f.BoolVar(&o.total, "total", false, "end with the total size of all images, shared layers counted once")
	return cmd
}

// imageRow is one line of `image ls`: one per tag, or one <none> line for an untagged image.
type imageRow struct {
	ID           string `json:"ID"`
	Repository   string `json:"Repository"`
	Tag          string `json:"Tag"`
	Digest       string `json:"Digest"`
	CreatedAt    string `json:"CreatedAt"`
	CreatedSince string `json:"CreatedSince"`
	Size         string `json:"Size"`
}

func runImageLs(w io.Writer, filter string, o imageLsOptions) error {
	if o.format != "table" && o.format != "json" {
		return fmt.Errorf("--format %q: want table or json", o.format)
	}
	var want struct{ repo, tag string }
	if filter != "" {
		r, err := image.ParseReference(filter)
		if err != nil {
			return fmt.Errorf("filter %q: %w", filter, err)
		}
		want.repo = image.RepositoryName(r.Context())
		if strings.Contains(filter[strings.LastIndex(filter, "/")+1:], ":") {
			want.tag = r.Identifier()
		}
	}
	s, err := openImageStore()
	if err != nil {
		return err
	}
	imgs, err := s.List()
	if err != nil {
		return err
	}
	hidden := map[string]bool{}
	if !o.all {
		hidden = image.Intermediates(imgs)
	}
	var rows []imageRow
	var shown []*image.Image
	for _, img := range imgs {
		if hidden[img.ID] {
			continue
		}
		id := img.ID
		if !o.noTrunc {
			id = img.ShortID()
		}
		base := imageRow{
			ID:           id,
			Digest:       "<none>",
			CreatedAt:    img.Config.Created.Time.Format("2006-01-02 15:04:05 -0700 MST"),
			CreatedSince: humanAgo(img.Config.Created.Time),
			Size:         humanSize(img.Size),
		}
		// One row per tag; an image with digests but no tag gets one row per repository
		// with tag <none> (as docker prints an image pulled by digest), else <none> <none>.
		var names [][2]string
		for _, t := range img.RepoTags {
			i := strings.LastIndex(t, ":")
			names = append(names, [2]string{t[:i], t[i+1:]})
		}
		if len(names) == 0 {
			for _, d := range img.RepoDigests {
				repo, _, _ := strings.Cut(d, "@")
				names = append(names, [2]string{repo, "<none>"})
			}
		}
		if len(names) == 0 {
			names = [][2]string{{"<none>", "<none>"}}
		}
		matched := false
		for _, n := range names {
			row := base
			row.Repository, row.Tag = n[0], n[1]
			if want.repo != "" && (row.Repository != want.repo || (want.tag != "" && row.Tag != want.tag)) {
				continue
			}
			for _, d := range img.RepoDigests {
				if repo, digest, _ := strings.Cut(d, "@"); repo == row.Repository {
					row.Digest = digest
				}
			}
			rows = append(rows, row)
			matched = true
		}
		if matched {
			shown = append(shown, img)
		}
	}

	switch {
	case o.quiet:
		seen := map[string]bool{}
		for _, r := range rows {
			if !seen[r.ID] {
				seen[r.ID] = true
				fmt.Fprintln(w, r.ID)
			}
		}
	case o.format == "json":
		if err := writeJSONLines(w, rows); err != nil {
			return err
		}
	default:
		tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
		if o.digests {
			fmt.Fprintln(tw, "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\tCREATED\tSIZE")
		} else {
			fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
		}
		for _, r := range rows {
			if o.digests {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.Digest, r.ID, r.CreatedSince, r.Size)
			} else {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if o.total && !o.quiet {
		fmt.Fprintf(w, "Total: %d images, %s (shared layers counted once)\n", len(shown), humanSize(image.TotalSize(shown)))
	}
	return nil
}
