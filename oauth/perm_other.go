//go:build !unix

package oauth

// openNoFollow is 0 where open has no such flags (Windows, where nothing
// is narrowed anyway).
const openNoFollow = 0
