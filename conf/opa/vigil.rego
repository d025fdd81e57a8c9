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
#                    properties: {labels: {...}, posture: {...}}}; for a
#                   command sudo's approval plugin asks about (vigil_sudo.so),
#                   {type: "command", id: <program>, properties: {argv,
#                    path_resolved, runas_user, runas_uid, cwd, ...,
#                    host: {id, labels, posture}}}
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

# "host" (logins, sudo in PAM's account phase, elevate), or "command": what
# sudo's approval plugin (vigil_sudo.so) asks about, one command at a time.
resource_type := object.get(input.resource, "type", "host")

on_host if resource_type == "host"

on_command if resource_type == "command"

props := object.get(input.resource, "properties", {})

# A command carries the host it runs on under properties.host.
host_props := object.get(props, "host", {}) if {
	on_command
} else := props

labels := object.get(host_props, "labels", {})

posture := object.get(host_props, "posture", {})

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
	on_host
	action == "ssh"
	"ops" in groups
}

# May use sudo at all (PAM's account phase); with vigil_sudo.so, each
# command is decided below as well.
allowed if {
	on_host
	action == "sudo"
	some g in ["ops", "sre"]
	g in groups
	not high_sensitivity
}

# TEST FIXTURE: vgl-weird is allowed with an unknown obligation (see below),
# which vigild must turn into a deny. Delete in production.
allowed if {
	on_host
	action in {"ssh", "sudo"}
	user == "vgl-weird"
}

allowed if {
	on_host
	action == "elevate"
	"ops" in groups
	has_purpose
	mfa_done
}

# --- each command sudo runs (the same rules as conf/cerbos/command.yaml) ----
#
# input.resource = {type: "command", id: the program sudo resolved
# ("sudoedit" for sudoedit), properties: {argv (run_argv, exactly),
# path_resolved, runas_user, runas_uid, runas_group, runas_gid, cwd,
# sudoedit_files, editor, host: {id, labels, posture}}}.

argv := object.get(props, "argv", [])

as_root if props.runas_user == "root"

systemctl if input.resource.id in {"/usr/bin/systemctl", "/bin/systemctl"}

# `systemctl VERB UNIT`, exactly: no options, one unit. (`status` may start
# a pager: systemd 247 and later run it in secure mode under sudo.)
verb := argv[1] if count(argv) == 3

unit := argv[2] if count(argv) == 3

web_units := {"nginx", "nginx.service"}

critical_units := {
	"sshd", "sshd.service", "ssh", "ssh.service", "vigild", "vigild.service",
	"falcon-sensor", "falcon-sensor.service",
}

# Programs that give a shell, by the last part of their path (sudo's or its
# symlinks' target). Deny lists are never complete: only what an allow rule
# lists runs; this keeps a broad allow (sre) from reaching a shell.
shell_like_names := {
	"sh", "bash", "dash", "zsh", "ksh", "mksh", "fish", "csh", "tcsh", "busybox", "su", "sudo", "env",
	"vi", "vim", "vim.basic", "vim.tiny", "nvim", "view", "ex", "ed", "nano", "emacs",
	"less", "more", "man",
}

# Interpreters, versioned names too (python3.11, perl5.36.0).
interpreter_pattern := `/(python|perl|ruby|lua|php|node|tclsh|wish)[0-9.]*$`

shell_like if regex.match(interpreter_pattern, input.resource.id)

shell_like if regex.match(interpreter_pattern, props.path_resolved)

shell_like if {
	some name in shell_like_names
	endswith(input.resource.id, concat("", ["/", name]))
}

shell_like if {
	some name in shell_like_names
	endswith(props.path_resolved, concat("", ["/", name]))
}

stop_critical if {
	on_command
	as_root
	systemctl
	verb == "stop"
	unit in critical_units
}

allowed if {
	on_command
	action == "sudo"
	"ops" in groups
	as_root
	systemctl
	verb in {"restart", "reload", "status"}
	unit in web_units
}

# Allowed with a TOTP step-up first (the obligation below).
allowed if {
	action == "sudo"
	"ops" in groups
	stop_critical
}

# sudoedit (the editor runs as the user, on a copy): /etc/nginx/ only.
allowed if {
	on_command
	action == "sudo"
	"ops" in groups
	input.resource.id == "sudoedit"
	files := props.sudoedit_files
	count(files) > 0
	every f in files {
		startswith(f, "/etc/nginx/")
		not contains(f, "/../")
	}
}

# sre may run anything: the shell deny below still holds.
allowed if {
	on_command
	action == "sudo"
	"sre" in groups
}

# --- what is denied whatever else says (deny wins) --------------------------

deny_reasons contains "contractors cannot use sudo on this host" if {
	action == "sudo"
	user == "vgl-mallory"
}

deny_reasons contains "shells, editors and pagers are not allowed through sudo; use sudoedit to edit files" if {
	on_command
	shell_like
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
	on_host
	action == "ssh"
	"ops" in groups
}

obligations contains {"step_up": {"method": "totp"}} if {
	on_host
	action == "ssh"
	"ops" in groups
	high_sensitivity
	not mfa_done
}

obligations contains {"step_up": {"method": "totp"}} if {
	stop_critical
	not mfa_done
}

obligations contains {"launch_missiles": true} if {
	on_host
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
	on_host
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
