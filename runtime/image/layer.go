package image

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stackhq/stack/internal/statefile"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// layerJob describes one layer to store: where its bytes come from and what is known of it.
type layerJob struct {
	parent    v1.Hash // chain ID of the layer below; zero for a base layer
	diffID    v1.Hash // known DiffID (from an image config); zero when unknown
	blob      v1.Hash // known blob digest (from a manifest); zero when unknown
	mediaType types.MediaType
	// open returns the layer's bytes: the blob as stored (compressed) when compressed is
	// set, else the uncompressed tar, which is then stored gzip-compressed.
	open       func(ctx context.Context) (io.ReadCloser, error)
	compressed bool
	// progress, when set, is told how many bytes of the stream have been read.
	progress func(n int64)
}

// storedLayer is what storing a layer found out.
type storedLayer struct {
	DiffID    v1.Hash
	ChainID   v1.Hash
	Blob      v1.Hash
	BlobSize  int64
	MediaType types.MediaType
}

// chainOf computes the chain ID of a layer with the given DiffID on top of parent.
func chainOf(parent, diffID v1.Hash) v1.Hash {
	if parent == (v1.Hash{}) {
		return diffID
	}
	return ChainIDs([]v1.Hash{parent, diffID})[1]
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// storeLayer stores a layer's blob and unpacked directory, reading its bytes once: the
// stream is hashed (blob digest), decompressed, hashed again (DiffID) and unpacked in one
// pass. Locks are always taken in the order layer, then blob, so concurrent writers cannot
// deadlock. When the DiffID is known in advance (from an image config), the layer lock is
// taken first and work already done — by an earlier image or a concurrent process — is
// skipped; otherwise the results are renamed into place under the locks, or dropped when
// another writer got there first.
func (s *Store) storeLayer(ctx context.Context, job layerJob) (storedLayer, error) {
	res := storedLayer{DiffID: job.diffID, Blob: job.blob, MediaType: job.mediaType}
	var held heldLocks
	defer held.release()
	if job.diffID != (v1.Hash{}) {
		res.ChainID = chainOf(job.parent, job.diffID)
		if err := held.take(s, "layer-"+res.ChainID.Hex); err != nil {
			return res, err
		}
		haveLayer := exists(s.layerPath(res.ChainID))
		if haveLayer && job.blob == (v1.Hash{}) {
			// An uncompressed source (docker-save, import): reuse the blob the layer was
			// first stored with.
			var meta layerMeta
			if err := statefile.ReadJSON(filepath.Join(s.layerPath(res.ChainID), "layer.json"), &meta); err != nil {
				return res, fmt.Errorf("read layer %s: %w", res.ChainID, err)
			}
			if meta.Blob != (v1.Hash{}) && exists(s.blobPath(meta.Blob)) {
				job.blob, res.Blob, res.MediaType = meta.Blob, meta.Blob, meta.MediaType
			}
		}
		if job.blob != (v1.Hash{}) {
			if err := held.take(s, "blob-"+job.blob.Hex); err != nil {
				return res, err
			}
			haveBlob := exists(s.blobPath(job.blob))
			if haveBlob && haveLayer {
				fi, err := os.Stat(s.blobPath(job.blob))
				if err != nil {
					return res, fmt.Errorf("stat blob %s: %w", job.blob, err)
				}
				res.BlobSize = fi.Size()
				return res, nil
			}
			if haveBlob {
				// Only the directory is missing: unpack from the local blob, not the source.
				job.open = func(context.Context) (io.ReadCloser, error) { return os.Open(s.blobPath(job.blob)) }
				job.compressed = true
			}
		}
	}
	return s.streamLayer(ctx, job, res, &held)
}

// heldLocks are the flocks storeLayer holds, released together.
type heldLocks struct {
	names map[string]bool
	locks []*fileLock
}

// take locks name unless already held.
func (h *heldLocks) take(s *Store, name string) error {
	if h.names[name] {
		return nil
	}
	l, err := s.lock(name, true)
	if err != nil {
		return err
	}
	if h.names == nil {
		h.names = map[string]bool{}
	}
	h.names[name] = true
	h.locks = append(h.locks, l)
	return nil
}

func (h *heldLocks) release() {
	for i := len(h.locks) - 1; i >= 0; i-- {
		h.locks[i].unlock()
	}
}

// streamLayer reads the layer once into a temp blob and a temp directory and commits both.
func (s *Store) streamLayer(ctx context.Context, job layerJob, res storedLayer, held *heldLocks) (storedLayer, error) {
	tmp, err := s.tempDir("layer")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	diffDir := filepath.Join(tmp, "diff")
	if err := os.Mkdir(diffDir, 0o755); err != nil {
		return res, fmt.Errorf("create layer dir: %w", err)
	}
	blobFile, err := os.Create(filepath.Join(tmp, "blob"))
	if err != nil {
		return res, fmt.Errorf("create temp blob: %w", err)
	}
	defer blobFile.Close()

	rc, err := job.open(ctx)
	if err != nil {
		return res, fmt.Errorf("open layer: %w", err)
	}
	defer rc.Close()
	var src io.Reader = rc
	if job.progress != nil {
		src = &progressReader{r: rc, fn: job.progress}
	}

	blobHash, diffHash := sha256.New(), sha256.New()
	blobOut := bufio.NewWriterSize(blobFile, 1<<20)
	blobCount := &countWriter{w: io.MultiWriter(blobOut, blobHash)}
	var tarStream io.Reader
	var gz *gzip.Writer
	if job.compressed {
		dec, err := Decompress(io.TeeReader(src, blobCount))
		if err != nil {
			return res, fmt.Errorf("decompress layer: %w", err)
		}
		defer dec.Close()
		tarStream = io.TeeReader(dec, diffHash)
	} else {
		gz = gzip.NewWriter(blobCount)
		tarStream = io.TeeReader(src, io.MultiWriter(diffHash, gz))
	}
	if res.MediaType == "" {
		res.MediaType = types.DockerLayer
	}
	size, err := Unpack(tarStream, diffDir)
	if err != nil {
		return res, err
	}
	// Whatever follows the tar's end (padding) belongs to the DiffID and the blob.
	if _, err := io.Copy(io.Discard, tarStream); err != nil {
		return res, fmt.Errorf("read layer: %w", err)
	}
	if job.compressed {
		// Read what the decompressor left of the blob (trailing bytes after the stream).
		if _, err := io.Copy(blobCount, src); err != nil {
			return res, fmt.Errorf("read layer: %w", err)
		}
	} else if err := gz.Close(); err != nil {
		return res, fmt.Errorf("compress layer: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if err := blobOut.Flush(); err != nil {
		return res, fmt.Errorf("write temp blob: %w", err)
	}
	if err := blobFile.Sync(); err != nil {
		return res, fmt.Errorf("sync temp blob: %w", err)
	}
	gotBlob := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", blobHash.Sum(nil))}
	gotDiff := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", diffHash.Sum(nil))}
	if res.Blob != (v1.Hash{}) && gotBlob != res.Blob {
		return res, fmt.Errorf("verify layer blob: got %s, want %s: %w", gotBlob, res.Blob, ErrDigestMismatch)
	}
	if res.DiffID != (v1.Hash{}) && gotDiff != res.DiffID {
		return res, fmt.Errorf("verify layer %s: uncompressed digest %s, want %s: %w", gotBlob, gotDiff, res.DiffID, ErrDigestMismatch)
	}
	res.Blob, res.DiffID, res.BlobSize = gotBlob, gotDiff, blobCount.n
	res.ChainID = chainOf(job.parent, gotDiff)

	if err := held.take(s, "layer-"+res.ChainID.Hex); err != nil {
		return res, err
	}
	if err := held.take(s, "blob-"+res.Blob.Hex); err != nil {
		return res, err
	}
	if !exists(s.blobPath(res.Blob)) {
		if err := os.Rename(blobFile.Name(), s.blobPath(res.Blob)); err != nil {
			return res, fmt.Errorf("commit blob %s: %w", res.Blob, err)
		}
	}
	if !exists(s.layerPath(res.ChainID)) {
		meta := layerMeta{DiffID: res.DiffID, ChainID: res.ChainID, Size: size, Blob: res.Blob, MediaType: res.MediaType}
		if err := statefile.WriteJSON(filepath.Join(tmp, "layer.json"), meta, 0o600, true); err != nil {
			return res, err
		}
		os.Remove(blobFile.Name())
		// The layer directory (diff/ and layer.json) appears whole under its final name.
		if err := os.Rename(tmp, s.layerPath(res.ChainID)); err != nil {
			return res, fmt.Errorf("commit layer %s: %w", res.ChainID, err)
		}
	}
	return res, nil
}

// Decompress returns the uncompressed stream of a layer or archive: gzip, bzip2, zstd or
// plain tar, recognized by their magic numbers. Compressed input is decompressed on a
// goroutine of its own, a few chunks ahead of the reader, so that decompressing and writing
// files overlap as they do in `tar -xz` (two processes); closing the reader stops it.
func Decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var dec io.Reader
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		// klauspost/compress's gzip: measured faster than compress/gzip (bench/image).
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		dec = zr
	case bytes.HasPrefix(magic, []byte("BZh")):
		dec = bzip2.NewReader(br)
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil // zstd decodes on goroutines of its own
	default:
		return io.NopCloser(br), nil
	}
	return newReadAhead(dec), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type progressReader struct {
	r  io.Reader
	fn func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.fn(int64(n))
	}
	return n, err
}
