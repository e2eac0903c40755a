// Package images is the appliance's image library: masters stored as
// seekable zstd files with a manifest, captured from drives or imported
// from image files (.img, .iso, .gz, .xz, .zst, with a .bmap or a
// .sha256 beside them), checked, and read by jobs at any offset.
//
// What keeps a damaged or edited image from being deployed:
//
//   - The manifest is bound to its data. An image written by this
//     firmware carries a seal in its data file: the SHA-256 of every
//     manifest field that decides what a deploy writes (Manifest.binding).
//     Every Open compares it with the manifest, so a manifest edited by
//     hand is refused, even when its numbers agree with each other.
//     Images captured by an older firmware (manifest format 1) have no
//     seal; they stay readable and deployable, their manifest bound only
//     through the check stamp below. Capturing them again seals them.
//     The data file, not the manifest, says whether an image is sealed:
//     a manifest claiming format 1 for a sealed data file is refused.
//   - Every frame is checked as it is decompressed, before any of its
//     bytes leave the image: its zstd checksum, its seek-table checksum and
//     the manifest's 64-bit hash of it. Damaged bytes never reach a target.
//   - A deploy first checks the whole image (every frame, and the SHA-256
//     of the used ranges) unless a check stamped earlier the same day
//     still holds. The stamp records the manifest's binding and the data
//     file's size, inode and modification and change times; any write to
//     either voids it. A check that fails clears it. So an image damaged
//     or edited since its last check is checked in full again, and refused,
//     before anything is written. Damage no file time shows (the library's
//     own storage decaying between a morning check and a deploy) is caught
//     by the per-frame checks: the job fails at the damaged frame; targets
//     hold only bytes of good frames before it, and never their first
//     chunk, which is written last.
//
// images imports the engine (for Source, Area and plans) and the disk
// readers; it never imports hal, a backend, ui or firmware.
package images
