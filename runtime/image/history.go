package image

import (
	"errors"
	"time"
)

// HistoryEntry is one step of an image's history, as `docker history` shows it.
type HistoryEntry struct {
	ID         string    // the image this step made, if stored (see History); else "<missing>"
	Created    time.Time // when the step ran
	CreatedBy  string    // the instruction
	Comment    string
	Size       int64 // unpacked size of the step's layer; 0 for metadata-only steps
	EmptyLayer bool  // the step changed only the config
	Tags       []string
}

// History returns the image's steps, newest first, each with the size of the layer it
// made. Steps are matched to layers in order, skipping empty-layer steps; layers with no
// recorded step (images built without history) get an entry of their own.
//
// The newest step carries the image's ID and tags. Walking the parent chain (Image.Parent),
// the last step of each parent carries that parent's ID and tags, so a Dockerfile build's
// history names the intermediate image of every step, as docker history does; steps made
// before the chain starts (a pulled base image's) show "<missing>".
func (s *Store) History(img *Image) ([]HistoryEntry, error) {
	var out []HistoryEntry
	layer := 0
	for _, h := range img.Config.History {
		e := HistoryEntry{ID: "<missing>", Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment, EmptyLayer: h.EmptyLayer}
		if !h.EmptyLayer && layer < len(img.Layers) {
			e.Size = img.Layers[layer].Size
			layer++
		}
		out = append(out, e)
	}
	for ; layer < len(img.Layers); layer++ {
		out = append(out, HistoryEntry{ID: "<missing>", Created: img.Config.Created.Time, Size: img.Layers[layer].Size})
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) == 0 {
		return out, nil
	}
	out[0].ID, out[0].Tags = img.ID, img.RepoTags
	for p := img.Parent; p != ""; {
		parent, err := s.Get(p)
		if errors.Is(err, ErrNotFound) {
			break // removed meanwhile; the older steps stay <missing>
		}
		if err != nil {
			return nil, err
		}
		// A parent's history is a prefix of its child's: its last step is at index
		// len(parent history)-1 from the oldest.
		i := len(out) - len(parent.Config.History)
		if len(parent.Config.History) == 0 || i <= 0 || i >= len(out) {
			break
		}
		out[i].ID, out[i].Tags = parent.ID, parent.RepoTags
		p = parent.Parent
	}
	return out, nil
}
