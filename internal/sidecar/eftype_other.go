//go:build !netbsd

package sidecar

func isEFTYPE(error) bool { return false }
