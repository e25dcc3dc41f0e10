"""gateway-contour: Gateway API, Ingress and HTTPProxy served to Envoy over xDS."""

__version__ = "0.1.0"
