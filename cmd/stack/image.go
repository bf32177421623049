package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/stackhq/stack/runtime/image"
)

// newImageCmd groups the image verbs: `stack image pull|import|load|save|ls|rm|prune|tag|
// history|inspect|build`.
func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images: pull, import, load, save, list, remove, tag, inspect",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(
		newImagePullCmd(),
		newImageImportCmd(),
		newImageLoadCmd(),
		newImageSaveCmd(),
		newImageLsCmd(),
		newImageRmCmd(),
		newImagePruneCmd(),
		newImageTagCmd(),
		newImageHistoryCmd(),
		newImageInspectCmd(),
		newImageBuildCmd(),
	)
	return cmd
}

// openImageStore opens the image store under the global store root.
func openImageStore() (*image.Store, error) {
	return image.Open(filepath.Join(global.root, "images"))
}

// isTerminal tells whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// humanSize prints a byte count as Docker does: decimal units, three significant digits.
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

// humanAgo prints how long ago t was, as Docker's CREATED column does.
func humanAgo(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	d := time.Since(t)
	switch {
	case d < time.Second:
		return "Less than a second ago"
	case d < time.Minute:
		return fmt.Sprintf("%d seconds ago", int(d.Seconds()))
	case d < 2*time.Minute:
		return "About a minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 2*time.Hour:
		return "About an hour ago"
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	case d < 14*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%d weeks ago", int(d.Hours()/24/7))
	case d < 2*365*24*time.Hour:
		return fmt.Sprintf("%d months ago", int(d.Hours()/24/30))
	}
	return fmt.Sprintf("%d years ago", int(d.Hours()/24/365))
}
