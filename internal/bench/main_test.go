package bench

import (
	"os"
	"testing"
)

// TestMain lets the test binary be a worker, spawner or one-shot child, as
// durable bench's binary is.
func TestMain(m *testing.M) {
	if WorkerMain() {
		os.Exit(0)
	}
	os.Exit(m.Run())
}
