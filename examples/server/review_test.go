package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Finding 2: the secret file's mode is checked but not its owner. A file
// of mode 0600 that another user owns is that user's to read (and to
// rewrite), yet the server took it: a local user who can put a file in
// the data directory before the first start (a data directory under /tmp,
// or one a deploy user owns while the server runs as root) chooses the
// JWT secret and forges any token. Checked as root, which can chown.
func TestReviewSecretFileOfAnotherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file another owner")
	}
	dir := t.TempDir()
	secret, _, err := dataDirSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, secretFile)
	const nobody = 65534
	if err := os.Chown(path, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	got, _, err := dataDirSecret(dir)
	if err == nil {
		t.Fatalf("dataDirSecret took a secret file owned by uid %d (the secret it read is the planted one: %v)", nobody, got == secret)
	}
	if !strings.Contains(err.Error(), "owned by") {
		t.Errorf("dataDirSecret = %v; want an error saying who owns the file", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the error holds the secret: %v", err)
	}
}
