#!/bin/bash
# Starts and stops a real Cerbos PDP on loopback for tests.
#
#   tests/pdp/cerbos.sh start DIR [--tls | --mtls] [--policies PDIR] [--watch]
#   (--watch: Cerbos reloads PDIR when a policy file changes)
#   tests/pdp/cerbos.sh stop DIR
#
# start: writes DIR/cerbos.yaml (disk store over tests/pdp/policies, or PDIR),
#   HTTP on 127.0.0.1:<free port>, gRPC on a unix socket in DIR (no second TCP
#   port), telemetry and audit off; starts Cerbos in the background, waits for
#   GET /_cerbos/health and prints, one per line (also saved in DIR/cerbos.env
#   for `source`):
#     CERBOS_URL=http://127.0.0.1:PORT       (https:// with --tls / --mtls)
#     CERBOS_PID=PID
#     CERBOS_CA=DIR/ca.pem                   (--tls, --mtls)
#     CERBOS_CLIENT_CERT=DIR/client.pem      (--mtls)
#     CERBOS_CLIENT_KEY=DIR/client.key       (--mtls)
#     CERBOS_BACKEND_URL=http://127.0.0.1:P  (--mtls: Cerbos itself, plain)
#   --tls   throwaway CA + server cert (SAN IP:127.0.0.1, DNS:localhost);
#           Cerbos serves TLS itself.
#   --mtls  as --tls, plus a client cert/key signed by the same CA. Cerbos'
#           own TLS cannot REQUIRE a client certificate (it serves clients
#           that send none), so Cerbos listens on plain HTTP and CERBOS_URL is
#           tests/pdp/mtls-proxy.js (node), which refuses any TLS client
#           without a certificate from DIR/ca.pem. Logs: DIR/proxy.log.
#   The AuthZEN API (/access/v1/evaluation[s], /.well-known/authzen-configuration)
#   is on the same HTTP port; Cerbos 0.55 needs no config to enable it.
#   Log: DIR/cerbos.log.
# stop: ends the Cerbos (and proxy) started in DIR (SIGTERM, then SIGKILL
#   after 5 s); only pids recorded in DIR whose command line names DIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

die() { echo "pdp/cerbos: $*" >&2; exit 1; }

usage() {
    sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
    exit 2
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    local p _
    for _ in $(seq 1 50); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

make_certs() {
    local dir=$1 mtls=$2
    local days=2
    (
        cd "$dir"
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout ca.key -out ca.pem -days "$days" -subj "/CN=vigil test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
        printf '%s\n' "basicConstraints=CA:FALSE" \
            "keyUsage=critical,digitalSignature" \
            "extendedKeyUsage=serverAuth" \
            "subjectAltName=IP:127.0.0.1,DNS:localhost" > server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -out server.pem -days "$days" -extfile server.ext 2>/dev/null
        if [ "$mtls" = 1 ]; then
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout client.key -out client.csr -subj "/CN=vigild" 2>/dev/null
            printf '%s\n' "basicConstraints=CA:FALSE" \
                "keyUsage=critical,digitalSignature" \
                "extendedKeyUsage=clientAuth" > client.ext
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
                -out client.pem -days "$days" -extfile client.ext 2>/dev/null
        fi
        rm -f ./*.csr ./*.ext ca.srl
        chmod 644 ca.pem server.pem
    ) || die "certificate generation failed"
}

write_config() {
    local dir=$1 port=$2 policies=$3 tls=$4
    {
        echo "# Written by tests/pdp/cerbos.sh; throwaway test PDP."
        echo "server:"
        echo "  httpListenAddr: \"127.0.0.1:$port\""
        echo "  grpcListenAddr: \"unix:$dir/grpc.sock\""
        if [ "$tls" = 1 ]; then
            echo "  tls:"
            echo "    cert: \"$dir/server.pem\""
            echo "    key: \"$dir/server.key\""
        fi
        echo "storage:"
        echo "  driver: disk"
        echo "  disk:"
        echo "    directory: \"$policies\""
        echo "    watchForChanges: ${CERBOS_WATCH:-false}"
        echo "audit:"
        echo "  enabled: false"
        echo "telemetry:"
        echo "  disabled: true"
    } > "$dir/cerbos.yaml"
}

# Is PID a process (Cerbos or the mTLS proxy) that cerbos.sh started for DIR?
is_ours() {
    local pid=$1 dir=$2 cmd
    [ -r "/proc/$pid/cmdline" ] || return 1
    cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline")
    case "$cmd" in
        *"--config=$dir/cerbos.yaml"*|*"--dir=$dir "*|*"--dir=$dir") return 0 ;;
    esac
    return 1
}

health() {
    local url=$1; shift
    curl -sf --max-time 2 "$@" "$url/_cerbos/health" 2>/dev/null | grep -q SERVING
}

# spawn DIR NAME URL CURL_ARGS... -- CMD...
# Starts CMD in the background (pid in DIR/NAME.pid, log DIR/NAME.log) and
# waits up to 15 s for URL/_cerbos/health. Returns 0 when healthy, 10 when the
# process died of a port clash (caller retries with another port); dies
# otherwise.
spawn() {
    local dir=$1 name=$2 url=$3; shift 3
    local -a curl_args=()
    while [ "$1" != "--" ]; do curl_args+=("$1"); shift; done
    shift
    # setsid: the PDP does not get the test's terminal signals; stop ends it.
    setsid "$@" >"$dir/$name.log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" > "$dir/$name.pid"
    # A deadline, not a count of tries: a loaded CI machine is slow to start.
    local deadline=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$deadline" ]; do
        kill -0 "$pid" 2>/dev/null || break
        if health "$url" ${curl_args[@]+"${curl_args[@]}"}; then
            return 0
        fi
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rm -f "$dir/$name.pid"
        cat "$dir/$name.log" >&2
        die "$name did not become healthy at $url within 60 s"
    fi
    wait "$pid" 2>/dev/null || true
    rm -f "$dir/$name.pid"
    if grep -qi -e "address already in use" -e EADDRINUSE "$dir/$name.log"; then
        return 10
    fi
    cat "$dir/$name.log" >&2
    die "$name exited during start-up (log above)"
}

cmd_start() {
    local dir="" tls=0 mtls=0 policies=${CERBOS_POLICIES:-$here/policies}
    while [ $# -gt 0 ]; do
        case "$1" in
            --tls) tls=1 ;;
            --mtls) tls=1; mtls=1 ;;
            --policies) [ $# -ge 2 ] || usage; policies=$2; shift ;;
            --watch) export CERBOS_WATCH=true ;;
            -*) usage ;;
            *) [ -z "$dir" ] || usage; dir=$1 ;;
        esac
        shift
    done
    [ -n "$dir" ] || usage
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    policies=$(cd "$policies" && pwd) || die "no policy folder $policies"

    local f
    for f in cerbos proxy; do
        if [ -f "$dir/$f.pid" ] && is_ours "$(cat "$dir/$f.pid")" "$dir"; then
            die "a PDP started in $dir is still running (pid $(cat "$dir/$f.pid")); stop it first"
        fi
    done

    local bin=${CERBOS_BIN:-}
    if [ -z "$bin" ]; then
        bin=$("$here/install.sh") || die "install.sh failed"
    fi
    [ -x "$bin" ] || die "no Cerbos binary at $bin"

    if [ "$tls" = 1 ]; then
        make_certs "$dir" "$mtls"
    fi

    # Cerbos itself: TLS for --tls; plain HTTP behind the proxy for --mtls.
    local cerbos_tls=$tls scheme=http
    [ "$mtls" = 1 ] && cerbos_tls=0
    [ "$cerbos_tls" = 1 ] && scheme=https
    local -a curl_tls=()
    [ "$cerbos_tls" = 1 ] && curl_tls=(--cacert "$dir/ca.pem")

    local port url rc=10
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        url="$scheme://127.0.0.1:$port"
        rm -f "$dir/grpc.sock"
        write_config "$dir" "$port" "$policies" "$cerbos_tls"
        rc=0
        spawn "$dir" cerbos "$url" ${curl_tls[@]+"${curl_tls[@]}"} -- \
            "$bin" server --config="$dir/cerbos.yaml" --log-level=warn || rc=$?
        [ "$rc" = 10 ] || break
    done
    [ "$rc" = 0 ] || die "could not start Cerbos after 5 attempts"

    if [ "$mtls" = 1 ]; then
        command -v node >/dev/null 2>&1 || die "--mtls needs node (tests/pdp/install.sh installs it)"
        local backend=$port
        for _ in 1 2 3 4 5; do
            port=$(free_port)
            url="https://127.0.0.1:$port"
            rc=0
            spawn "$dir" proxy "$url" --cacert "$dir/ca.pem" \
                --cert "$dir/client.pem" --key "$dir/client.key" -- \
                node "$here/mtls-proxy.js" "$port" "$backend" "$dir/server.pem" \
                "$dir/server.key" "$dir/ca.pem" "--dir=$dir" || rc=$?
            [ "$rc" = 10 ] || break
        done
        if [ "$rc" != 0 ]; then
            cmd_stop "$dir"
            die "could not start the mTLS proxy after 5 attempts"
        fi
        # The point of --mtls: no client certificate, no answer.
        if health "$url" --cacert "$dir/ca.pem"; then
            cmd_stop "$dir"
            die "the mTLS proxy answered a client without a certificate"
        fi
    fi

    {
        echo "CERBOS_URL=$url"
        echo "CERBOS_PID=$(cat "$dir/cerbos.pid")"
        if [ "$tls" = 1 ]; then
            echo "CERBOS_CA=$dir/ca.pem"
        fi
        if [ "$mtls" = 1 ]; then
            echo "CERBOS_CLIENT_CERT=$dir/client.pem"
            echo "CERBOS_CLIENT_KEY=$dir/client.key"
            echo "CERBOS_BACKEND_URL=http://127.0.0.1:$backend"
        fi
    } > "$dir/cerbos.env"
    cat "$dir/cerbos.env"
}

stop_one() {
    local dir=$1 name=$2 pid _
    [ -f "$dir/$name.pid" ] || return 0
    pid=$(cat "$dir/$name.pid")
    if is_ours "$pid" "$dir"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            is_ours "$pid" "$dir" || break
            sleep 0.1
        done
        if is_ours "$pid" "$dir"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        # Until it is gone (or a zombie): a loaded machine can take seconds to
        # tear down a Go process, and callers check that stop stopped it.
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
            sleep 0.1
        done
    fi
    rm -f "$dir/$name.pid"
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    local dir
    dir=$(cd "$1" 2>/dev/null && pwd) || { echo "pdp/cerbos: no folder $1; nothing to stop" >&2; return 0; }
    stop_one "$dir" proxy
    stop_one "$dir" cerbos
    rm -f "$dir/grpc.sock"
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    *) usage ;;
esac
