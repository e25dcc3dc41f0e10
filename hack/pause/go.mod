// The Pod sandbox's pause process for the node tier; standard library only.
module gateway-contour/hack/pause

go 1.26.0

toolchain go1.26.8
