package image

import "errors"

// Sentinel errors of the image store; callers test them with errors.Is.
var (
	// ErrNotFound: no image matches the reference or ID.
	ErrNotFound = errors.New("image not found")
	// ErrAmbiguous: a short ID prefix matches more than one image.
	ErrAmbiguous = errors.New("ambiguous image ID prefix")
	// ErrInvalidReference: the reference cannot be parsed.
	ErrInvalidReference = errors.New("invalid image reference")
	// ErrDigestMismatch: content does not hash to the digest that names it.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrUnsafeEntry: a layer archive entry would write outside the layer directory or is
	// not allowed (device node, escaping link, write through a symlink).
	ErrUnsafeEntry = errors.New("unsafe layer entry")
	// ErrInUse: the image is used by a container (remove with force).
	ErrInUse = errors.New("image is in use by a container")
	// ErrHasChildren: other images were made from the image (it is their parent); remove
	// them first. Not overridden by force, as in Docker.
	ErrHasChildren = errors.New("image has dependent child images")
	// ErrMultipleReferences: the image has several tags; remove by tag or with force.
	ErrMultipleReferences = errors.New("image is referenced in multiple repositories")
	// ErrInvalidChange: a --change instruction is not one that import supports.
	ErrInvalidChange = errors.New("invalid change instruction")
	// ErrUnsupportedArchive: an archive is neither a docker-save nor an OCI layout archive.
	ErrUnsupportedArchive = errors.New("unsupported image archive")
	// ErrNoMatchingPlatform: a multi-platform index has no image for this platform.
	ErrNoMatchingPlatform = errors.New("no image for platform")
)
