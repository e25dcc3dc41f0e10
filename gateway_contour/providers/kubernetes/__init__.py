"""The Kubernetes provider: discovery of the kinds we consume, list+watch of each into the
store (`watch`), and the API client built from a kubeconfig (`client`)."""
