"""A real node: containerd + runc + CNI + kubelet + kube-proxy, plus kube-scheduler, joined to
a KubeCluster, with no Docker.

The node lives in a network namespace of its own, joined to this one by a veth pair: the
kubelet refuses a loopback node IP, and nothing here may touch the machine's own interfaces,
routes or firewall. This namespace gets routes to the Pod and Service ranges through the node,
so tests dial Pods and ClusterIPs from here as a host on the node's network would. containerd,
the kubelet and kube-proxy enter only the node's network namespace (`nsenter --net`), never a
mount namespace of their own: the kubelet's volume mounts must be visible to containerd.
Everything they write lives under the fixture's work directory; `stop()` removes what they
made (containers, mounts, the namespace, cgroups).

What the binaries are and how they were built: hack/build-control-plane.sh (kubelet,
kube-proxy, kube-scheduler and kubectl from the same pinned release as the API server) and
hack/build-node-extras.sh (CoreDNS, the pause program). Debian packages: containerd, runc,
containernetworking-plugins, iptables (hack/system-deps.sh). See FIELD-NOTES for the two
containerd settings without which no sandbox starts on this VM.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import tarfile
import uuid
from pathlib import Path

import yaml

from tests.support.hostnet import HostNetwork
from tests.support.kube_cluster import (
    SERVICE_CIDR,
    KubeCluster,
    Process,
    free_port,
    issue_client_cert,
    wait_until,
)

NODE_NAME = "node-1"
POD_CIDR = "10.244.0.0/24"
# Load balancer addresses (tests/support/load_balancer.py): routed to the node like the Pods
LB_CIDR = "10.216.0.0/24"
CLUSTER_DNS = "10.0.0.10"  # the kube-dns Service's ClusterIP
CLUSTER_DOMAIN = "cluster.local"
CNI_BIN = Path("/usr/lib/cni")
READY_TIMEOUT = 90.0
ROUTED = (POD_CIDR, SERVICE_CIDR, LB_CIDR)  # from this namespace, through the node


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def archive_tags(archive: Path) -> list[str]:
    """The RepoTags of a docker-archive tarball."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None, f"{archive}: no manifest.json"
        return [tag for image in json.load(member) for tag in image.get("RepoTags") or []]


def normalized(reference: str) -> str:
    """An image reference as containerd stores it (docker.io/ for a name with no registry)."""
    first = reference.split("/", 1)[0]
    if "/" not in reference:
        return f"docker.io/library/{reference}"
    if "." in first or ":" in first or first == "localhost":
        return reference
    return f"docker.io/{reference}"


class NodeNetwork:
    """The node's network namespace: a HostNetwork (tests/support/hostnet.py: the namespace
    and the veth pair to it) whose first address is the node's InternalIP `node_ip`, routed on
    to the Pods and Services. `host_ip` is this namespace's side (where the API server
    listens)."""

    def __init__(self, subnet: str = "10.215.0.0/24") -> None:
        self.link = HostNetwork(subnet=subnet, name=f"gcn{uuid.uuid4().hex[:8]}")
        self.subnet = subnet
        net = ipaddress.ip_network(subnet)
        self.host_ip, self.node_ip = str(net[1]), str(net[2])
        self._routed = False

    @property
    def name(self) -> str:
        return self.link.name

    def argv(self, *argv: str) -> list[str]:
        """`argv` run in the node's network namespace (and only that namespace)."""
        return ["nsenter", f"--net=/run/netns/{self.name}", "--", *argv]

    def up(self) -> None:
        self.link.up()
        assigned = self.link.new_address()
        assert assigned == self.node_ip, (assigned, self.node_ip)
        ns = ("ip", "netns", "exec", self.name)
        # Everything beyond the link (the API server, this namespace) is through the host side.
        run(*ns, "ip", "route", "add", "default", "via", self.host_ip)
        # The node routes between its Pods' bridge and the link (the namespace's own setting:
        # this machine's forwarding stays off, so nothing in a Pod reaches beyond the host).
        run(*ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        # Pod -> Service -> Pod on the same bridge: replies must pass through conntrack.
        run(*ns, "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1", check=False)
        # A load balancer address kube-proxy has not programmed yet (a new Service's, the
        # first moments) is refused, as a balancer with no backend up refuses: without this
        # it would go back out the default route and loop until its TTL ran out, and a
        # client's connect would hang instead of failing fast and being retried. Traffic
        # kube-proxy forwards is already DNATed to a Pod here, so this never matches it.
        for protocol, reply in (("tcp", "tcp-reset"), ("udp", "icmp-port-unreachable")):
            run(
                *ns, "iptables", "-A", "FORWARD", "-d", LB_CIDR, "-p", protocol,
                "-j", "REJECT", "--reject-with", reply,
            )  # fmt: skip
        self._routed = True
        for cidr in ROUTED:
            run("ip", "route", "add", cidr, "via", self.node_ip)

    def down(self) -> None:
        if self._routed:
            for cidr in ROUTED:
                run("ip", "route", "del", cidr, "via", self.node_ip, check=False)
            self._routed = False
        self.link.down()


class KubeNode:
    """One node of `cluster` (which must have been made with_nodes=True, on network.host_ip).

    `start()` brings up kube-scheduler, containerd, the kubelet and kube-proxy and waits for
    the Node to be Ready; `import_image(tar)` loads a docker-archive into containerd's k8s.io
    namespace (Pods then use imagePullPolicy Never or IfNotPresent); `stop()` undoes all."""

    def __init__(
        self,
        cluster: KubeCluster,
        network: NodeNetwork,
        workdir: Path,
        pause_archive: Path,
        archives: list[Path],
    ) -> None:
        """`pause_archive`: the sandbox image; `archives`: docker-archive tarballs imported
        before the kubelet starts (their names: `images`)."""
        self.cluster = cluster
        self.network = network
        self.workdir = workdir
        self.pause_archive = pause_archive
        self.pause_image = normalized(archive_tags(pause_archive)[0])
        self.archives = archives
        self.images: dict[Path, list[str]] = {}
        self.sock = workdir / "containerd.sock"
        self.processes: dict[str, Process] = {}
        workdir.mkdir(parents=True, exist_ok=True)

    # -- configuration files

    def _containerd_config(self) -> Path:
        root, state = self.workdir / "containerd-root", self.workdir / "containerd-state"
        cni_conf = self.workdir / "cni"
        cni_conf.mkdir(exist_ok=True)
        (cni_conf / "10-gateway-contour.conflist").write_text(
            json.dumps(self._cni_config(), indent=1)
        )
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        text = f"""version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"
[{cri}]
  sandbox_image = "{self.pause_image}"
  # root here lacks CAP_SYS_RESOURCE: lowering oom_score_adj would kill every sandbox
  restrict_oom_score_adj = true
  # Pod network namespaces under our state dir, not /run/netns (see FIELD-NOTES)
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = true
[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
[{cri}.cni]
  bin_dir = "{CNI_BIN}"
  conf_dir = "{cni_conf}"
"""
        path = self.workdir / "containerd.toml"
        path.write_text(text)
        return path

    def _cni_config(self) -> dict[str, object]:
        gateway = str(ipaddress.ip_network(POD_CIDR)[1])
        return {
            "cniVersion": "0.4.0",
            "name": "gateway-contour-pods",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": f"{self.network.name}b"[:15],
                    "isGateway": True,
                    "hairpinMode": True,
                    "ipMasq": False,
                    "ipam": {
                        "type": "host-local",
                        "dataDir": str(self.workdir / "cni-ipam"),
                        "ranges": [[{"subnet": POD_CIDR, "gateway": gateway}]],
                        # no default route: a Pod reaches the node's networks and nothing else
                        "routes": [
                            {"dst": SERVICE_CIDR},
                            {"dst": self.network.subnet},
                        ],
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }

    def _kubelet_files(self) -> tuple[Path, Path]:
        certs = self.cluster.certs
        issue_client_cert(certs, "kubelet", f"system:node:{NODE_NAME}", ["system:nodes"])
        kubeconfig = self.workdir / "kubelet.kubeconfig"
        self.cluster.write_kubeconfig(
            kubeconfig,
            f"system:node:{NODE_NAME}",
            credentials={
                "client-certificate": str(certs / "kubelet.crt"),
                "client-key": str(certs / "kubelet.key"),
            },
        )
        resolv = self.workdir / "resolv.conf"
        resolv.write_text("# no upstream resolver on the node's network\n")
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            # this machine mounts cgroup v1 (kubelet v1.35+ refuses it unless told)
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{self.sock}",
            "address": self.network.node_ip,
            "port": free_port(),
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": free_port(),
            "authentication": {
                "x509": {"clientCAFile": str(self.cluster.ca_file)},
                "webhook": {"enabled": False},
                "anonymous": {"enabled": False},
            },
            "authorization": {"mode": "AlwaysAllow"},
            "clusterDNS": [CLUSTER_DNS],
            "clusterDomain": CLUSTER_DOMAIN,
            "resolvConf": str(resolv),
            "podLogsDir": str(self.workdir / "pod-logs"),
            # a shared, busy disk: never evict the test's Pods or collect its images
            "evictionHard": {
                "memory.available": "1Mi",
                "nodefs.available": "0%",
                "imagefs.available": "0%",
            },
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "syncFrequency": "10s",
            "fileCheckFrequency": "10s",
            "nodeStatusUpdateFrequency": "2s",
            "serializeImagePulls": False,
            "maxPods": 60,
        }
        path = self.workdir / "kubelet.yaml"
        path.write_text(yaml.safe_dump(config))
        return path, kubeconfig

    def _kube_proxy_config(self) -> Path:
        config = {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(self.cluster.kubeconfig)},
            "hostnameOverride": NODE_NAME,
            "mode": "iptables",
            "clusterCIDR": POD_CIDR,
            "conntrack": {"maxPerCore": 0},
            "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
            "nodePortAddresses": [f"{self.network.node_ip}/32"],
            "metricsBindAddress": f"127.0.0.1:{free_port()}",
            "healthzBindAddress": f"127.0.0.1:{free_port()}",
        }
        path = self.workdir / "kube-proxy.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    # -- lifecycle

    def _start(self, name: str, argv: list[str], in_node: bool = True) -> Process:
        process = Process(
            name, self.network.argv(*argv) if in_node else argv, self.workdir / f"{name}.log"
        )
        self.processes[name] = process
        return process

    def ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run("ctr", "--address", str(self.sock), "--namespace", "k8s.io", *args, check=check)

    def start(self) -> None:
        binaries = self.cluster.binaries
        self._start(
            "kube-scheduler",
            [
                str(binaries.kube_scheduler),
                f"--kubeconfig={self.cluster.kubeconfig}",
                f"--authentication-kubeconfig={self.cluster.kubeconfig}",
                f"--authorization-kubeconfig={self.cluster.kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
            ],
            in_node=False,
        )
        self._start("containerd", ["containerd", "--config", str(self._containerd_config())])
        wait_until(
            "containerd",
            lambda: self.ctr("version", check=False).returncode == 0,
            list(self.processes.values()),
            30,
        )
        for archive in [self.pause_archive, *self.archives]:
            self.images[archive] = self.import_image(archive)
        self.pin_image(self.pause_image)
        config, kubeconfig = self._kubelet_files()
        self._start(
            "kubelet",
            [
                str(binaries.kubelet),
                f"--config={config}",
                f"--kubeconfig={kubeconfig}",
                f"--root-dir={self.workdir / 'kubelet'}",
                f"--cert-dir={self.workdir / 'kubelet-pki'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={self.network.node_ip}",
            ],
        )
        self._start(
            "kube-proxy",
            [str(binaries.kube_proxy), f"--config={self._kube_proxy_config()}"],
        )
        wait_until("Node Ready", self.node_ready, list(self.processes.values()), READY_TIMEOUT)

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        """The real kubectl of the pinned release, as admin; raises on failure."""
        result = subprocess.run(
            [str(self.cluster.binaries.kubectl), f"--kubeconfig={self.cluster.kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr}")
        return result.stdout

    def start_cluster_dns(self, coredns_image: str) -> None:
        """CoreDNS at CLUSTER_DNS (tests/support/node/coredns.yaml); returns once Ready."""
        manifest = (Path(__file__).parent / "node" / "coredns.yaml").read_text()
        manifest = manifest.replace("COREDNS_IMAGE", coredns_image)
        self.kubectl("apply", "-f", "-", stdin=manifest.replace("CLUSTER_DNS", CLUSTER_DNS))
        self.kubectl(
            "-n",
            "kube-system",
            "rollout",
            "status",
            "deployment/coredns",
            f"--timeout={int(READY_TIMEOUT)}s",
        )

    def node_ready(self) -> bool:
        status, node = self.cluster.request("GET", f"/api/v1/nodes/{NODE_NAME}")
        if status != 200:
            return False
        conditions = (node.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def import_image(self, archive: Path) -> list[str]:
        """Load a docker-archive tarball into the CRI's namespace; returns its image names."""
        self.ctr("images", "import", str(archive))
        return [normalized(tag) for tag in archive_tags(archive)]

    def pin_image(self, name: str) -> None:
        """Never garbage-collected by the kubelet (the pause image)."""
        self.ctr("images", "label", name, "io.cri-containerd.pinned=pinned")

    def stop(self) -> None:
        for name in ("kube-proxy", "kubelet", "kube-scheduler"):
            if name in self.processes:
                self.processes[name].stop()
        if "containerd" in self.processes:
            self._remove_containers()
            self.processes["containerd"].stop()
        self._kill_shims()
        self._unmount_all()
        self._remove_cgroups()

    def _remove_containers(self) -> None:
        listed = self.ctr("tasks", "ls", "-q", check=False).stdout.split()
        for task in listed:
            self.ctr("tasks", "kill", "--signal", "SIGKILL", task, check=False)
        for task in listed:
            self.ctr("tasks", "delete", "--force", task, check=False)
        for container in self.ctr("containers", "ls", "-q", check=False).stdout.split():
            self.ctr("containers", "delete", container, check=False)

    def _kill_shims(self) -> None:
        # A shim outlives containerd by design; ours name our socket on their command line.
        marker = str(self.sock).encode()
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"containerd-shim" in cmdline and marker in cmdline:
                    os.kill(int(pid), signal.SIGKILL)

    def _unmount_all(self) -> None:
        prefix = str(self.workdir.resolve()) + "/"
        mounts = []
        with contextlib.suppress(OSError):
            for line in Path("/proc/self/mountinfo").read_text().splitlines():
                point = line.split()[4].replace("\\040", " ")
                if point.startswith(prefix):
                    mounts.append(point)
        for point in sorted(mounts, key=len, reverse=True):
            run("umount", "-l", point, check=False)

    def _remove_cgroups(self) -> None:
        # The kubelet's QoS hierarchy (kubepods/...) in every v1 controller; only empty ones go.
        for controller in Path("/sys/fs/cgroup").iterdir():
            top = controller / "kubepods"
            if not top.is_dir():
                continue
            for directory in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                if directory.is_dir():
                    with contextlib.suppress(OSError):
                        directory.rmdir()
            with contextlib.suppress(OSError):
                top.rmdir()
