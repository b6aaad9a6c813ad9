package journal

import "context"

// WitnessOptions configure how CheckpointWith asks witnesses to cosign.
type WitnessOptions struct{ Report func(name string, err error) }

func (j *Journal) witness(ctx context.Context, msg []byte, s Signed, o *WitnessOptions) ([]byte, error) {
	return msg, nil
}

// Witnesses lists the witnesses configured for the log in dir.
func Witnesses(dir string) ([]string, error) { return nil, nil }
