package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func rsaGenerate(bits int) (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, bits)
}

func TestLoadPublicKeyFile(t *testing.T) {
	dir := t.TempDir()
	priv := rsaKey(t)

	pkix := filepath.Join(dir, "pkix.pem")
	if err := os.WriteFile(pkix, pemOf(t, &priv.PublicKey), 0o600); err != nil {
		t.Fatal(err)
	}
	pkcs1 := filepath.Join(dir, "pkcs1.pem")
	pkcs1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&priv.PublicKey)})
	if err := os.WriteFile(pkcs1, pkcs1PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{pkix, pkcs1} {
		data, err := LoadPublicKeyFile(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		v := newVerifier(t, Config{PublicKeyPEM: data})
		if _, err := v.Verify(sign(t, jwt.SigningMethodRS256, priv, validClaims())); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}

	private := filepath.Join(dir, "private.pem")
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})
	if err := os.WriteFile(private, privPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadPublicKeyFile(private)
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "private.pem") {
		t.Errorf("private key file: %v", err)
	}
	if _, err := LoadPublicKeyFile(filepath.Join(dir, "missing.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, maxKeyFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPublicKeyFile(big); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("big file: %v", err)
	}
}

func TestParseSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("s3cret-from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	raw := []byte{0, 1, 2, 250, 251, 252, 253, 254, 255}
	cases := []struct {
		value string
		want  string
	}{
		{"", ""},
		{"plain-value", "plain-value"},
		{"file:" + file, "s3cret-from-file"},
		{"base64:" + base64.StdEncoding.EncodeToString(raw), string(raw)},
		{"base64:" + base64.RawURLEncoding.EncodeToString(raw), string(raw)},
	}
	for _, c := range cases {
		got, err := ParseSecret(c.value)
		if err != nil || string(got) != c.want {
			t.Errorf("ParseSecret(%q) = %q, %v; want %q", c.value, got, err, c.want)
		}
	}
	if got, _ := ParseSecret(""); got != nil {
		t.Error(`ParseSecret("") must be nil: no secret`)
	}
	for _, bad := range []string{"file:" + filepath.Join(dir, "missing"), "file:" + empty, "base64:!!!not base64!!!", "base64:"} {
		_, err := ParseSecret(bad)
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ParseSecret(%q) = %v, want ErrInvalidConfig", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "not base64!!!") {
			t.Errorf("error %q repeats the secret", err)
		}
	}
}
