package journal

import "context"

// WitnessOptions configure how CheckpointWith asks witnesses to cosign.
type WitnessOptions struct{}

func (j *Journal) witness(ctx context.Context, msg []byte, s Signed, o *WitnessOptions) ([]byte, error) {
	return msg, nil
}
