"""Kubernetes provisioning: an Envoy fleet per Gateway, made with server-side apply.

`parameters` reads a GatewayClass's ContourDeployment, `objects` renders the desired objects
(pure), `credentials` issues the Envoys' xDS client certificates, `apply` talks to the API
server, and `fleet` reconciles all of it on each rebuild and reports the Gateways' addresses;
`implicit` does the same for the fleet that serves Ingress and HTTPProxy.
"""
