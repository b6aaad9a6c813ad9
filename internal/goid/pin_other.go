//go:build !linux

package goid

// threadTokens: no cheap thread id here, so tokens are goroutine ids.
const threadTokens = false

func threadID() uint64 { panic("goid: no thread ids on this platform") }
