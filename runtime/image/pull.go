package image

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// PullOptions tune Pull. The zero value pulls linux/<this architecture> with the Docker
// credentials of the user, 3 layers at a time, retrying each layer 3 times.
type PullOptions struct {
	// Insecure allows plain HTTP and unverified TLS for any registry. Registries on
	// localhost, *.localhost and 127.0.0.1 are spoken to over plain HTTP anyway, as Docker does.
	Insecure bool
	// Platform selects the image from a multi-platform index; nil means linux/GOARCH.
	Platform *v1.Platform
	// Keychain supplies credentials; nil means authn.DefaultKeychain (~/.docker/config.json,
	// $DOCKER_CONFIG, credential helpers).
	Keychain authn.Keychain
	// Jobs is the number of layers downloaded at once (default 3).
	Jobs int
	// Retries is how many times a failed layer download is retried (default 3; negative: never).
	Retries int
	// RetryDelay is the wait before the first retry, doubled for each next one (default 1s).
	RetryDelay time.Duration
	// Progress, when set, receives layer progress; calls are serialized.
	Progress func(Progress)
}

// Progress reports the state of one layer of a pull.
type Progress struct {
	Layer   v1.Hash // the layer blob's digest
	Index   int     // position of the layer in the image, base first
	Current int64   // bytes read so far
	Total   int64   // blob size
	Status  string  // one of the Status* constants
	Err     error   // for StatusRetrying: the failure being retried
}

// Layer states reported by Pull.
const (
	StatusWaiting     = "Waiting"
	StatusDownloading = "Downloading"
	StatusRetrying    = "Retrying"
	StatusExists      = "Already exists"
	StatusComplete    = "Pull complete"
)

// Pull downloads ref (name[:tag] or name@digest) from its registry and stores it, selecting
// the platform's image from a multi-platform index. Layers are downloaded in parallel, each
// hashed, decompressed, verified and unpacked in one pass; a layer or blob already in the
// store is not downloaded again. The image gets the tag (if ref has one) and the digest
// reference repo@<digest the registry gave>.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (*Image, error) {
	var nameOpts []name.Option
	if opts.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w: %v", ref, ErrInvalidReference, err)
	}
	platform := v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}
	if opts.Platform != nil {
		platform = *opts.Platform
	}
	keychain := opts.Keychain
	if keychain == nil {
		keychain = authn.DefaultKeychain
	}
	var tr http.RoundTripper = remote.DefaultTransport
	if opts.Insecure {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // --insecure asks for it
		tr = t
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain), remote.WithPlatform(platform), remote.WithTransport(tr)}

	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("pull %s: fetch manifest: %w", ref, err)
	}
	img, err := selectImage(desc, platform)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, fmt.Errorf("pull %s: parse manifest: %w", ref, err)
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("pull %s: fetch config: %w", ref, err)
	}
	cfg, err := checkConfig(rawConfig, m)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}

	w, err := s.beginWrite()
	if err != nil {
		return nil, err
	}
	defer w.unlock()
	if err := s.pullLayers(ctx, img, m, cfg, opts); err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	refs := []string{RepositoryName(r.Context()) + "@" + desc.Digest.String()}
	if _, ok := r.(name.Tag); ok {
		refs = append(refs, Canonical(r))
	}
	return s.commitImage(rawConfig, rawManifest, refs, "")
}

// selectImage returns the image a descriptor names: itself, or the child of an index that
// matches the platform.
func selectImage(desc *remote.Descriptor, platform v1.Platform) (v1.Image, error) {
	if !desc.MediaType.IsIndex() {
		if !desc.MediaType.IsImage() {
			return nil, fmt.Errorf("unsupported manifest type %s", desc.MediaType)
		}
		return desc.Image()
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	d, err := pickPlatform(im, platform)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", desc.Digest, err)
	}
	return idx.Image(d.Digest)
}

// pickPlatform returns the image of an index for the platform: same OS and architecture,
// and the same variant when one is asked for.
func pickPlatform(im *v1.IndexManifest, platform v1.Platform) (v1.Descriptor, error) {
	for _, d := range im.Manifests {
		if d.Platform == nil || !d.MediaType.IsImage() {
			continue
		}
		if d.Platform.OS == platform.OS && d.Platform.Architecture == platform.Architecture &&
			(platform.Variant == "" || d.Platform.Variant == platform.Variant) {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("%w %s", ErrNoMatchingPlatform, platform)
}

// checkConfig verifies the config blob against the manifest and decodes it.
func checkConfig(rawConfig []byte, m *v1.Manifest) (*v1.ConfigFile, error) {
	h, _, err := v1.SHA256(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, err
	}
	if h != m.Config.Digest {
		return nil, fmt.Errorf("verify config: got %s, want %s: %w", h, m.Config.Digest, ErrDigestMismatch)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("manifest has %d layers, config %d diff IDs", len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	return cfg, nil
}

// pullLayers stores the image's layers, opts.Jobs at a time, retrying transient failures.
func (s *Store) pullLayers(ctx context.Context, img v1.Image, m *v1.Manifest, cfg *v1.ConfigFile, opts PullOptions) error {
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = 3
	}
	var mu sync.Mutex
	report := func(p Progress) {
		if opts.Progress != nil {
			mu.Lock()
			defer mu.Unlock()
			opts.Progress(p)
		}
	}
	for i, l := range m.Layers {
		report(Progress{Layer: l.Digest, Index: i, Total: l.Size, Status: StatusWaiting})
	}
	chains := ChainIDs(cfg.RootFS.DiffIDs)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for i, desc := range m.Layers {
		parent := v1.Hash{}
		if i > 0 {
			parent = chains[i-1]
		}
		g.Go(func() error {
			var cur int64
			downloading := false
			job := layerJob{
				parent:     parent,
				diffID:     cfg.RootFS.DiffIDs[i],
				blob:       desc.Digest,
				mediaType:  desc.MediaType,
				compressed: true,
				open: func(context.Context) (io.ReadCloser, error) {
					downloading = true
					layer, err := img.LayerByDigest(desc.Digest)
					if err != nil {
						return nil, err
					}
					return layer.Compressed()
				},
				progress: func(n int64) {
					cur += n
					report(Progress{Layer: desc.Digest, Index: i, Current: cur, Total: desc.Size, Status: StatusDownloading})
				},
			}
			err := retry(ctx, opts, func() error {
				cur = 0
				_, err := s.storeLayer(ctx, job)
				return err
			}, func(err error) {
				report(Progress{Layer: desc.Digest, Index: i, Total: desc.Size, Status: StatusRetrying, Err: err})
			})
			if err != nil {
				return fmt.Errorf("layer %s: %w", desc.Digest, err)
			}
			status := StatusComplete
			if !downloading {
				status = StatusExists
			}
			report(Progress{Layer: desc.Digest, Index: i, Current: desc.Size, Total: desc.Size, Status: status})
			return nil
		})
	}
	return g.Wait()
}

// retry runs fn until it succeeds, fails permanently, or the retries are used up, waiting
// RetryDelay, then twice as long, and so on between attempts.
func retry(ctx context.Context, opts PullOptions, fn func() error, onRetry func(error)) error {
	retries := opts.Retries
	if retries == 0 {
		retries = 3
	}
	delay := opts.RetryDelay
	if delay <= 0 {
		delay = time.Second
	}
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || attempt >= retries || !transient(err) || ctx.Err() != nil {
			return err
		}
		onRetry(err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// transient tells failures worth retrying (network errors, truncated or corrupted
// downloads, server errors) from permanent ones (hostile content, refused access, missing
// blobs, cancellation).
func transient(err error) bool {
	if errors.Is(err, ErrUnsafeEntry) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode >= 500 || terr.StatusCode == http.StatusTooManyRequests || terr.StatusCode == http.StatusRequestTimeout
	}
	return true
}
