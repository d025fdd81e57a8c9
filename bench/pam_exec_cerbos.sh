#!/bin/sh
# pam_exec_cerbos.sh URL HOST_ID SENSITIVITY SIGNAL=VALUE — what a site
# without vigil writes to ask Cerbos from PAM, for bench/run.sh to compare
# against:
#
#   account required pam_exec.so quiet /path/pam_exec_cerbos.sh http://127.0.0.1:3592 web-01 low \
#       systemd.unit.falcon-sensor.service=active
#
# The posture signal the policy reads is handed in: such a site would have to
# collect it itself, which would only make each request slower.
#
# pam_exec forks and execs this for every request. It sends the same kind of
# check pam_vigil's agent sends (principal = the user with their groups as
# roles, resource = this host with its labels, action from the PAM service)
# and exits 0 only on EFFECT_ALLOW. No connection reuse is possible: one
# shell, one `id`, one curl and a new TCP connection per request.
set -u
url=$1 host=$2 sensitivity=$3 signal=${4%%=*} value=${4#*=}
case ${PAM_SERVICE:-} in
    sshd) action=ssh ;;
    *) action=${PAM_SERVICE:-} ;;
esac
user=${PAM_USER:?}
roles=$(id -Gn -- "$user" | sed 's/[^ ][^ ]*/"&"/g; s/ /,/g')
body=$(printf '{"requestId":"pam-exec","principal":{"id":"%s","roles":[%s],"attr":{"groups":[%s]}},"resources":[{"actions":["%s"],"resource":{"kind":"host","id":"%s","attr":{"labels":{"sensitivity":"%s"},"posture":{"%s":"%s"}}}}]}' \
    "$user" "$roles" "$roles" "$action" "$host" "$sensitivity" "$signal" "$value")
curl -s --max-time 2 -H 'Content-Type: application/json' --data-binary "$body" \
    "$url/api/check/resources" | grep -q '"'"$action"'":"EFFECT_ALLOW"'
