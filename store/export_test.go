package store

// Interleave makes each update of s give its backup rotation's steps to fn
// instead of starting them itself (startRotate): fn runs them when it
// likes, and the wait it returns runs the rest, just before the new
// version's rename. The crash tests use it to run the rotation between
// the calls that write the new version, as the goroutine that runs it on
// the OS may.
func Interleave[T any](s *Store[T], fn func(steps []func() error) (wait func() error)) {
	s.interleave = fn
}
