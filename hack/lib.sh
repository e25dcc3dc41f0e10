# shellcheck shell=bash
# Shared helpers for hack/*.sh (sourced, not run).

# Print the value of one top-level string field of the JSON that `go mod download -json`
# writes (one field per line), without needing jq.
json_field() {
    sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" | head -n 1
}

# The Go used when nothing pins one and no Go is installed at all.
GO_BOOTSTRAP_VERSION=${GO_BOOTSTRAP_VERSION:-1.26.8}

# use_go VERSION: put a `go` on PATH that builds with exactly Go VERSION (or with whatever Go
# is installed when VERSION is empty).
#
# Any installed Go >= 1.21 can run another release through GOTOOLCHAIN, which fetches it from
# the module proxy (golang.org/toolchain). With no usable Go at all (Debian 12's golang-go is
# 1.19), fetch that same toolchain zip from the proxy ourselves.
use_go() {
    local want=$1 go_bin="" candidate
    for candidate in "$(command -v go || true)" /usr/local/go/bin/go; do
        [[ -n $candidate && -x $candidate ]] || continue
        # `go env GOVERSION` exists since Go 1.16; GOTOOLCHAIN needs 1.21.
        if [[ $(GOTOOLCHAIN=local "$candidate" env GOVERSION 2>/dev/null) =~ ^go1\.([0-9]+) ]] &&
            ((BASH_REMATCH[1] >= 21)); then
            go_bin=$candidate
            break
        fi
    done
    if [[ -z $go_bin ]]; then
        go_bin=$(bootstrap_go "${want:-$GO_BOOTSTRAP_VERSION}")
    fi
    PATH="$(dirname "$go_bin"):$PATH"
    export PATH
    if [[ -n $want ]]; then
        # An exact toolchain, not "at least": a newer Go may build a different apiserver
        # (Go 1.27's default jsonv2 breaks its OpenAPI endpoints).
        export GOTOOLCHAIN="go$want"
    fi
    echo ">>> using $(go version) from $go_bin" >&2
}

# bootstrap_go VERSION: download Go VERSION from the module proxy into the cache; print the
# path of its go binary.
bootstrap_go() {
    local version=$1 arch proxy dest zip
    case $(uname -m) in
        x86_64) arch=amd64 ;;
        aarch64 | arm64) arch=arm64 ;;
        *) echo "unsupported machine $(uname -m)" >&2; return 1 ;;
    esac
    proxy=${GOPROXY:-https://proxy.golang.org}
    proxy=${proxy%%[,|]*}  # the first proxy of the list
    [[ $proxy == http* ]] || proxy=https://proxy.golang.org  # "direct" or "off"
    dest="$CACHE_DIR/go-$version"
    if [[ ! -x $dest/bin/go ]]; then
        echo ">>> no Go >= 1.21 found; fetching go$version from $proxy" >&2
        zip="$CACHE_DIR/go-$version.zip"
        mkdir -p "$CACHE_DIR"
        # python3 rather than curl: a fresh Debian has the one, not always the other.
        python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(*sys.argv[1:])' \
            "$proxy/golang.org/toolchain/@v/v0.0.1-go$version.linux-$arch.zip" "$zip"
        rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
        python3 -m zipfile -e "$zip" "$dest.tmp"
        # Module zips keep no file modes; the zip's single top directory is the GOROOT.
        mv "$dest.tmp/golang.org/toolchain@v0.0.1-go$version.linux-$arch" "$dest"
        rm -rf "$dest.tmp" "$zip"
        chmod -R u+x "$dest/bin" "$dest/pkg/tool"
    fi
    echo "$dest/bin/go"
}
