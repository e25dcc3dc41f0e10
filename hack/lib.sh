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

# go_mod_value FILE KEYWORD|MODULE: read a pin straight from a go.mod, without running Go
# (so that the warm path needs no toolchain at all).
go_mod_value() {
    awk -v key="$2" '
        $1 == key && NF == 2 { print $2; exit }                 # "toolchain go1.26.8"
        $1 == "require" && $2 == key { print $3; exit }          # "require m v1"
        $1 == key && $2 ~ /^v/ { print $2; exit }                # "m v1" inside require (...)
    ' "$1"
}

# content_hash DIR: 8 hex digits that change whenever the module's sources do.
content_hash() {
    find "$1" -maxdepth 1 -type f \( -name 'go.*' -o -name '*.go' \) | LC_ALL=C sort |
        xargs -d '\n' cat | sha256sum | cut -c1-8
}

# need_go TOOLCHAIN ("go1.26.8"): use_go that release, once per script; callers ask only when
# something must be built, so a warm cache never touches Go.
go_ready=""
need_go() {
    if [[ $go_ready != "$1" ]]; then
        use_go "${1#go}"
        go_ready=$1
    fi
}

# build MODULE_DIR PACKAGE OUTPUT [LDFLAGS...]: go build one command into the cache.
build() {
    local module=$1 package=$2 output=$3 started
    shift 3
    if [[ -x $output ]]; then
        echo ">>> cached: $output"
        return
    fi
    echo ">>> building ${package/#./$module} -> $output"
    started=$(date +%s)
    mkdir -p "$(dirname "$output")"
    # -trimpath: no local paths in the binary; -s -w: drop the symbol table and DWARF.
    # CGO off: static binaries, no C toolchain needed on the machine.
    # -mod=readonly: build exactly what go.mod/go.sum pin, never update them.
    # -buildvcs=false: do not stamp this repository's git state into the binaries.
    (cd "$module" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
        go build -trimpath -ldflags "-s -w $*" -o "$output.tmp" "$package")
    mv "$output.tmp" "$output"  # only a finished binary counts as cached
    echo ">>> built $output in $(($(date +%s) - started)) s ($(du -h "$output" | cut -f1))"
}

# lock_cache: one build at a time per $CACHE_DIR (parallel test runs, CI jobs sharing a
# cache); the others wait and then find the binaries built. A script run by another that holds
# the lock inherits descriptor 9 on it and keeps using it (reopening would wait for itself).
lock_cache() {
    mkdir -p "$CACHE_DIR"
    if ! [[ /proc/self/fd/9 -ef $CACHE_DIR/.lock ]]; then
        exec 9>"$CACHE_DIR/.lock"
    fi
    if ! flock --nonblock 9; then
        echo ">>> another build holds $CACHE_DIR/.lock; waiting for it"
        flock 9
    fi
}
