package temporalclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// verifyChain checks the frontend's certificate chain against roots and name,
// as crypto/tls does when InsecureSkipVerify is false.
func verifyChain(cs tls.ConnectionState, roots *x509.CertPool, name string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the frontend sent no certificate")
	}
	intermediates := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: intermediates})
	if err != nil {
		return fmt.Errorf("tls: failed to verify the frontend's certificate against temporal.tls.ca_file: %w", err)
	}
	return nil
}
