package image

import "time"

// HistoryEntry is one step of an image's history, as `docker history` shows it.
type HistoryEntry struct {
	ID         string    // the image ID on the newest step, "<missing>" on older ones (as Docker)
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
func (img *Image) History() []HistoryEntry {
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
	if len(out) > 0 {
		out[0].ID = img.ID
		out[0].Tags = img.RepoTags
	}
	return out
}
