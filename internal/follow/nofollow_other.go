//go:build !unix

package follow

// noFollow is 0 where open has no such flag; Open then resolves first.
// Windows has no sticky directories, so Check never refuses there.
const noFollow = 0

func isLinkErr(error) bool { return false }
