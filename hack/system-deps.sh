#!/usr/bin/env bash
# Debian packages the test tiers need, installed only when missing (CI runs as root):
#   iproute2  `ip netns`: backends on test hosts in a network namespace (tests/support/hostnet.py)
#   util-linux `flock`: one control-plane build at a time (hack/build-control-plane.sh)
#   the real node of tests/node: containerd, runc, containernetworking-plugins (the CNI
#   plugins in /usr/lib/cni), iptables and conntrack (kube-proxy)
set -euo pipefail
declare -A wanted=([ip]=iproute2 [flock]=util-linux [sha256sum]=coreutils
    [containerd]=containerd [runc]=runc [/usr/lib/cni/bridge]=containernetworking-plugins
    [iptables]=iptables [conntrack]=conntrack)
missing=()
for cmd in "${!wanted[@]}"; do
    # iptables and conntrack live in /usr/sbin, which a non-root PATH may lack.
    PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root" >&2
    exit 1
fi
echo ">>> installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
