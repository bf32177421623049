package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/docker/go-units"
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
func humanSize(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }

// humanAgo prints how long ago t was, as Docker's CREATED column does.
func humanAgo(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return units.HumanDuration(time.Since(t)) + " ago"
}
