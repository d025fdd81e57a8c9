# vigil — example OPA policy with the same rules as conf/cerbos/host.yaml.
#
# vigild ([pdp] protocol = "opa") asks OPA's Data API:
#
#   POST /v1/data/vigil/authz/decision
#   Content-Type: application/json
#   {"input": <the AuthZEN evaluation request vigild builds>}
#
# i.e. `input` is {subject, action, resource, context} exactly as in
# tests/pdp/SHAPES.md ("AuthZEN request vigild sends"):
#
#   input.subject   {type: "user"|"workload", id, properties: {uid, groups,
#                    ssh_certificate}}; ssh_certificate only from a CA that
#                   vigil.toml's [ssh] trusts; id is the user the request is about:
#                   PAM_USER, or for sudo, sudo-i, su and su-l the user who
#                   invoked it (the caller's real uid, checked against
#                   PAM_RUSER), never root or the target under rootpw/targetpw
#   input.action    {name: "ssh"|"sudo"|"elevate"|..., properties: {service,
#                    command, argv, tty, pam_user}}; pam_user, for sudo and su:
#                   the account PAM_USER named (whose password sudo asks
#                   for, su's target)
#   input.resource  {type: "host", id: <hostname>,
#                    properties: {labels: {...}, posture: {...}}}
#                   posture maps signal names, as vigild names them, to
#                   strings: {"systemd.unit.falcon-sensor.service": "active",
#                   "systemd.system_state": "running", ...}; a signal no
#                   collector produces is absent. A rule that needs one must
#                   deny when it is missing, not only when it is bad.
#   input.context   {time, request_id, source_ip, purpose, mfa: {method, at},
#                    policy: {local_version}}
#
# OPA answers {"result": <decision>}; when the rule is undefined (wrong path,
# policy not loaded) the body is {} with no "result" — vigild denies that
# request (OPA answered; no fallback applies). <decision> is always an object:
#
#   {"allow": true,  "policy_version": "...", "session_max_seconds": 3600,
#    "step_up": {"method": "totp"}, ...}                   (obligations inline)
#   {"allow": false, "policy_version": "...", "reason_user": "...",
#    "reason_admin": "..."}
#
# Obligation keys are the ones vigild understands (session_max_seconds,
# session_idle_seconds, reevaluate_seconds, step_up, purpose, reason_user,
# reason_admin, policy_version); an allow carrying any other key is denied
# by vigild.
#
# Written in Rego v1 syntax (`if`, `contains`); `import rego.v1` keeps it
# loadable by OPA 0.59+ as well as OPA 1.x. Check and try with:
#   opa check conf/opa/
#   opa test conf/opa/
#   opa eval -d conf/opa/vigil.rego -i input.json 'data.vigil.authz.decision'
# (Not run in vigil's CI: no OPA binary is available there — Debian ships
# none, and no npm package carries one.)
package vigil.authz

import rego.v1

policy_version := "2025.07.1"

# --- facts from the request -------------------------------------------------

user := input.subject.id

action := input.action.name

groups := object.get(input.subject, ["properties", "groups"], [])

labels := object.get(input.resource, ["properties", "labels"], {})

posture := object.get(input.resource, ["properties", "posture"], {})

ctx := object.get(input, "context", {})

high_sensitivity if labels.sensitivity == "high"

# vigild re-asks with context.mfa after a successful step-up.
mfa_done if ctx.mfa.method != ""

has_purpose if ctx.purpose != ""

# Posture: the signal that says the EDR sensor runs. vigild's systemd
# collector reports each unit it follows as systemd.unit.<unit>, its
# ActiveState; vigil.toml must follow the unit ([posture.systemd] units =
# ["falcon-sensor.service"]). Name your sensor's unit here and there.
edr_signal := "systemd.unit.falcon-sensor.service"

# "missing" when vigild sent no such signal.
edr_state := object.get(posture, edr_signal, "missing")

# Fails closed: the unit stopped or failed, the signal missing, or posture
# not an object (edr_state undefined) all leave this undefined.
edr_running if edr_state == "active"

# --- what is allowed --------------------------------------------------------

allowed if {
	action == "ssh"
	"ops" in groups
}

allowed if {
	action == "sudo"
	"ops" in groups
	not high_sensitivity
}

# TEST FIXTURE: vgl-weird is allowed with an unknown obligation (see below),
# which vigild must turn into a deny. Delete in production.
allowed if {
	action in {"ssh", "sudo"}
	user == "vgl-weird"
}

allowed if {
	action == "elevate"
	"ops" in groups
	has_purpose
	mfa_done
}

# --- what is denied whatever else says (deny wins) --------------------------

deny_reasons contains "contractors cannot use sudo on this host" if {
	action == "sudo"
	user == "vgl-mallory"
}

deny_reasons contains "endpoint security sensor is not running on this host" if {
	action in {"ssh", "sudo", "elevate"}
	not edr_running
}

allow if {
	allowed
	count(deny_reasons) == 0
}

# --- obligations carried by an allow ----------------------------------------

obligations contains {"session_max_seconds": 3600} if {
	action == "ssh"
	"ops" in groups
}

obligations contains {"step_up": {"method": "totp"}} if {
	action == "ssh"
	"ops" in groups
	high_sensitivity
	not mfa_done
}

obligations contains {"launch_missiles": true} if {
	action in {"ssh", "sudo"}
	user == "vgl-weird"
}

# A grant (vigilctl grant request) lasts at most 15 minutes: session_max
# caps it. The group or account asked for is vigild's to check against
# [grants]; "grant" is no obligation vigild knows, and would turn the allow
# into a deny.
obligations contains {"session_max_seconds": 900} if {
	action == "elevate"
	allowed
}

# --- why a deny -------------------------------------------------------------

reason_user := concat("; ", sort(deny_reasons)) if {
	count(deny_reasons) > 0
} else := "sudo is not allowed on high-sensitivity hosts" if {
	action == "sudo"
	"ops" in groups
	high_sensitivity
} else := "elevation needs a purpose and a completed MFA step-up" if {
	action == "elevate"
	"ops" in groups
} else := "no policy allows this request"

# --- the answer -------------------------------------------------------------

default decision := {
	"allow": false,
	"reason_user": "no policy allows this request",
	"policy_version": "2025.07.1",
}

decision := object.union_n(array.concat(
	[{"allow": true, "policy_version": policy_version}],
	[o | some o in obligations]
)) if allow

decision := {
	"allow": false,
	"reason_user": reason_user,
	"reason_admin": sprintf("vigil.authz: %s by %s on %s", [action, user, input.resource.id]),
	"policy_version": policy_version,
} if not allow
