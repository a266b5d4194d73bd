package main

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"

	"github.com/cloister-go/cloister"
)

// runSecret prints a fresh random cluster secret: 32 random bytes as
// unpadded URL-safe base64 (43 characters), one line, ready for a
// CLOISTER_SECRET_FILE (cloister secret > cloister.secret).
func runSecret(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("secret", flag.ContinueOnError)
	n := fs.Int("bytes", 32, "random bytes in the secret (at least 16)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *n < cloister.MinSecretLen || *n > 1024 {
		return fmt.Errorf("-bytes %d: want %d to 1024", *n, cloister.MinSecretLen)
	}
	b := make([]byte, *n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	_, err := fmt.Fprintln(stdout, base64.RawURLEncoding.EncodeToString(b))
	return err
}
