// Package conformance runs the upstream Gateway API conformance suite (v1.6.1), unmodified,
// against whatever cluster the kubeconfig names (conformance/run.py starts a local one).
//
// Every option is one of the suite's own flags, passed after -args, for example:
//
//	go test -run TestConformance -timeout 60m . -args \
//	    --gateway-class=gateway-contour --conformance-profiles=GATEWAY-HTTP \
//	    --report-output=reports/report.yaml --organization=... --project=... \
//	    --url=... --version=... --contact=...
//
// Without --supported-features (and without --run-test) the suite infers the supported
// features from the GatewayClass's status.supportedFeatures.
package conformance

import (
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
	"sigs.k8s.io/gateway-api/pkg/consts"
)

// TestConformance is the whole suite; flags select the profiles, features and tests.
func TestConformance(t *testing.T) {
	// The suite refuses CRDs whose bundle-version annotation differs from this one.
	t.Logf("Gateway API CRD bundle version expected: %s", consts.BundleVersion)
	conformance.RunConformance(t)
}
