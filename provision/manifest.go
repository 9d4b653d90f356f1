// Package provision is the boot side of dtheap: the manifest (defined in the leaf package
// provision/manifest and re-exported here, next to FromPlan), the boot-time checks
// (provision/check) and the initramfs assembly (provision/initramfs).
package provision

import "github.com/dtheap/dtheap/provision/manifest"

// The manifest types, re-exported so the CLI side can keep saying provision.Manifest. The
// checker imports provision/manifest directly: importing this package would link the planner.
type (
	Manifest        = manifest.Manifest
	Pool            = manifest.Pool
	Heap            = manifest.Heap
	ValidationError = manifest.ValidationError
)

// Re-exported constants; see provision/manifest.
const (
	Generator      = manifest.Generator
	DefaultPath    = manifest.DefaultPath
	KindCMA        = manifest.KindCMA
	KindCarveout   = manifest.KindCarveout
	KindUnmapped   = manifest.KindUnmapped
	ProviderDtheap = manifest.ProviderDtheap
	ProviderKernel = manifest.ProviderKernel
)

// Read reads and validates a manifest file; see manifest.Read.
func Read(name string) (*Manifest, error) { return manifest.Read(name) }

// Decode reads and validates one manifest; see manifest.Decode.
var Decode = manifest.Decode
