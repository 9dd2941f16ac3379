package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
)

// minRSABits is the smallest RSA modulus accepted; shorter keys are
// factorable.
const minRSABits = 2048

// maxKeyFileBytes bounds the files LoadPublicKeyFile and ParseSecret read.
const maxKeyFileBytes = 1 << 20

// parsePublicKey returns the *rsa.PublicKey, ed25519.PublicKey or
// *ecdsa.PublicKey in the first PEM block of data.
func parsePublicKey(data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: public key: no PEM block found", ErrInvalidConfig)
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return nil, fmt.Errorf("%w: public key: got a %s; configure the public key only, the private key stays with the token issuer", ErrInvalidConfig, block.Type)
		}
		return nil, fmt.Errorf("%w: public key: PEM block %q is not a PUBLIC KEY or RSA PUBLIC KEY", ErrInvalidConfig, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %w", ErrInvalidConfig, err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("%w: public key: RSA key of %d bits; at least %d are required", ErrInvalidConfig, k.N.BitLen(), minRSABits)
		}
	case ed25519.PublicKey:
	case *ecdsa.PublicKey:
		if ecdsaAlgorithm(k) == "" {
			return nil, fmt.Errorf("%w: public key: ECDSA curve %s is not P-256, P-384 or P-521", ErrInvalidConfig, k.Curve.Params().Name)
		}
	default:
		return nil, fmt.Errorf("%w: public key: unsupported key type %T", ErrInvalidConfig, key)
	}
	return key, nil
}

// ecdsaAlgorithm returns the one JWT algorithm for k's curve (RFC 7518
// §3.4 ties each ES algorithm to a curve), or "".
func ecdsaAlgorithm(k *ecdsa.PublicKey) string {
	switch k.Curve {
	case elliptic.P256():
		return "ES256"
	case elliptic.P384():
		return "ES384"
	case elliptic.P521():
		return "ES512"
	}
	return ""
}

// LoadPublicKeyFile reads a PEM public key file for Config.PublicKeyPEM,
// and checks that it holds a key New accepts, so that a wrong file fails
// at startup with its name in the error.
func LoadPublicKeyFile(path string) ([]byte, error) {
	data, err := readSmallFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := parsePublicKey(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// ParseSecret turns a flag or environment value into a secret such as
// Config.HMACSecret or Config.IDKey:
//
//	""            no secret (nil)
//	"file:PATH"   the contents of PATH, less one trailing newline
//	"base64:DATA" DATA decoded from standard or URL-safe base64, padded or not
//	anything else the value's bytes
//
// Prefer file: in production, since a literal value shows in the process
// list and in shell history. Errors never contain the secret.
func ParseSecret(value string) ([]byte, error) {
	switch {
	case value == "":
		return nil, nil
	case strings.HasPrefix(value, "file:"):
		path := strings.TrimPrefix(value, "file:")
		data, err := readSmallFile(path)
		if err != nil {
			return nil, err
		}
		data = bytes.TrimSuffix(data, []byte("\n"))
		data = bytes.TrimSuffix(data, []byte("\r"))
		if len(data) == 0 {
			return nil, fmt.Errorf("%w: secret file %s is empty", ErrInvalidConfig, path)
		}
		return data, nil
	case strings.HasPrefix(value, "base64:"):
		encoded := strings.TrimRight(strings.TrimPrefix(value, "base64:"), "=")
		encoded = strings.NewReplacer("-", "+", "_", "/").Replace(encoded)
		data, err := base64.RawStdEncoding.DecodeString(encoded)
		if err != nil || len(data) == 0 {
			return nil, fmt.Errorf("%w: secret: base64: value is not valid base64", ErrInvalidConfig)
		}
		return data, nil
	}
	return []byte(value), nil
}

// readSmallFile reads a key or secret file, refusing anything too large to
// be one (a path mistyped as a log file, say).
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrInvalidConfig, path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes; not a key file", ErrInvalidConfig, path, maxKeyFileBytes)
	}
	return data, nil
}
