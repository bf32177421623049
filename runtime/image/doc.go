// Package image is stack's image store: content-addressed blobs, layers unpacked once into
// directories usable as overlayfs lower layers, references (tags and digests), and the ways
// images arrive and leave (pull, import, load, save, create).
//
// # Layout
//
// Under the store root (<stack root>/images):
//
//	blobs/sha256/<hex>       content-addressed blobs: configs, manifests, compressed layers
//	layers/<chain-hex>/      one unpacked layer, keyed by its chain ID:
//	    diff/                the layer's files (an overlayfs lowerdir)
//	    layer.json           DiffID, ChainID, unpacked size
//	images/<id-hex>.json     one image: manifest digest, when it was added, its parent image
//	                         (the image Create made it from; Remove, Prune and History follow it)
//	repositories.json        references (tags and digests) → image ID
//	locks/                   flock files, one per blob and per layer being written
//	tmp/                     work in progress; emptied of stale entries by writes and gc
//	empty/                   an empty directory, the lowerdir of an image with no layers
//
// # Atomic writes and locking
//
// Nothing half-written is ever visible under a final name. A blob is written to tmp/,
// its digest verified while it streams, then renamed to blobs/sha256/<hex>. A layer is
// unpacked into tmp/, its DiffID verified against the uncompressed stream, layer.json written
// inside it, and the whole directory renamed to layers/<chain-hex>. Image records and
// repositories.json are written with CreateTemp + Rename.
//
// Two processes that store the same blob or layer at the same time serialize on
// locks/layer-<chain-hex> and locks/blob-<hex> (flock, released when the process dies; always
// taken layer first, then blob): the second finds the content in place once it holds the lock
// and uses it. Image records and repositories.json are changed under locks/store, held only
// for those short updates, never while downloading or unpacking.
//
// Every write (pull, import, load, create) holds locks/gc shared from before it stores its
// first blob until its image record is committed; garbage collection (rm, prune) takes it
// exclusive, so content stored but not yet referenced is never collected, and the lock files
// of what it deletes can go too. A write empties tmp/ before it starts when it gets
// locks/gc exclusive at once, that is when no other write is running, and so does garbage
// collection; Open does not (every command opens the store, most only read).
package image
