package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

type imageHistoryOptions struct {
	noTrunc bool
	quiet   bool
	human   bool
	format  string
}

func newImageHistoryCmd() *cobra.Command {
	var o imageHistoryOptions
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the steps an image was made of, newest first, with the size of each layer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImageHistory(cmd.OutOrStdout(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noTrunc, "no-trunc", false, "do not truncate IDs and commands")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only the image IDs")
	f.BoolVarP(&o.human, "human", "H", true, "print sizes and dates in human-readable form")
	f.StringVar(&o.format, "format", "table", "output format: table or json (one JSON object per line)")
	return cmd
}

// historyRow is one line of `image history`, as docker prints it.
type historyRow struct {
	ID           string `json:"ID"`
	CreatedAt    string `json:"CreatedAt"`
	CreatedSince string `json:"CreatedSince"`
	CreatedBy    string `json:"CreatedBy"`
	Size         string `json:"Size"`
	Comment      string `json:"Comment"`
}

func runImageHistory(w io.Writer, ref string, o imageHistoryOptions) error {
	if o.format != "table" && o.format != "json" {
		return fmt.Errorf("--format %q: want table or json", o.format)
	}
	s, err := openImageStore()
	if err != nil {
		return err
	}
	img, err := s.Get(ref)
	if err != nil {
		return err
	}
	steps, err := s.History(img)
	if err != nil {
		return err
	}
	var rows []historyRow
	for _, h := range steps {
		id := h.ID
		if !o.noTrunc && strings.HasPrefix(id, "sha256:") {
			id = strings.TrimPrefix(id, "sha256:")[:12]
		}
		row := historyRow{ID: id, CreatedBy: h.CreatedBy, Comment: h.Comment,
			CreatedAt: h.Created.Format(time.RFC3339), CreatedSince: humanAgo(h.Created), Size: fmt.Sprint(h.Size)}
		if o.human {
			row.Size = humanSize(h.Size)
		}
		if !o.noTrunc && o.format == "table" && len([]rune(row.CreatedBy)) > 45 {
			row.CreatedBy = string([]rune(row.CreatedBy)[:44]) + "…"
		}
		rows = append(rows, row)
	}
	switch {
	case o.quiet:
		for _, r := range rows {
			fmt.Fprintln(w, r.ID)
		}
	case o.format == "json":
		if err := writeJSONLines(w, rows); err != nil {
			return err
		}
	default:
		tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
		for _, r := range rows {
			created := r.CreatedSince
			if !o.human {
				created = r.CreatedAt
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, created, r.CreatedBy, r.Size, r.Comment)
		}
		return tw.Flush()
	}
	return nil
}
