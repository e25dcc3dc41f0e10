"""The local stand-ins the conformance suite needs: a node agent in place of the kubelet,
per-Pod network namespaces, and the helpers of conformance/run.py."""
