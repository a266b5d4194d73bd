package cloister

import (
	"bytes"
	"errors"
	"fmt"
)

// parseSecretFile reads a secret file: one secret per line (a trailing
// "\r" is dropped, empty lines are skipped), the first the primary. Errors
// say which line is wrong, never what it holds.
func parseSecretFile(b []byte) ([]Secret, error) {
	var secrets []Secret
	for i, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		if len(line) < MinSecretLen {
			return nil, fmt.Errorf("line %d holds a secret of %d bytes, at least %d needed", i+1, len(line), MinSecretLen)
		}
		secrets = append(secrets, Secret(bytes.Clone(line)))
	}
	if len(secrets) == 0 {
		return nil, errors.New("the secret file is empty")
	}
	return secrets, nil
}

// acceptedKeys derives the key for purpose ("gossip", "call") from each of
// the accepted secrets.
func acceptedKeys(secrets []Secret, purpose string) ([][]byte, error) {
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		k, err := s.deriveKey(purpose)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}
