package durable

// The names below are the content hash's names before it was called Rev
// ("version" also meant format and schema numbers). They still work.

// Version is Rev.
//
// Deprecated: use Rev.
type Version = Rev

// VersionOf is RevOf.
//
// Deprecated: use RevOf.
func VersionOf(content []byte) Rev { return RevOf(content) }

// ReadVersion is ReadRev.
//
// Deprecated: use ReadRev.
func ReadVersion(name string, opts ...Option) ([]byte, Rev, error) { return ReadRev(name, opts...) }

// IfVersion is IfRev.
//
// Deprecated: use IfRev.
func IfVersion(v Rev) Option { return IfRev(v) }

// VersionTracker is a RevTracker whose method was called Version.
//
// Deprecated: use RevTracker.
type VersionTracker struct{ RevTracker }

// Version is RevTracker.Rev.
//
// Deprecated: use RevTracker.Rev.
func (t *VersionTracker) Version(content []byte) Rev { return t.Rev(content) }
