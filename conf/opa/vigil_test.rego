# Unit tests for vigil.rego:   opa test conf/opa/
# Each case is an input as vigild sends it and the decision it must get;
# they mirror the Cerbos suites in tests/pdp/policies/ (host_test.yaml,
# command_test.yaml).
package vigil.authz_test

import rego.v1

import data.vigil.authz

ops_user := {"type": "user", "id": "vgl-alice", "properties": {"uid": 2001, "groups": ["ops", "vgl-alice"]}}

plain_host := {"type": "host", "id": "web-01", "properties": {
	"labels": {"sensitivity": "low", "environment": "prod"},
	"posture": {"systemd.unit.falcon-sensor.service": "active"},
}}

high_host := {"type": "host", "id": "vault-01", "properties": {
	"labels": {"sensitivity": "high", "environment": "prod"},
	"posture": {"systemd.unit.falcon-sensor.service": "active"},
}}

test_ops_ssh_plain_host if {
	authz.decision == {"allow": true, "policy_version": "2025.07.1", "session_max_seconds": 3600} with input as {
		"subject": ops_user,
		"action": {"name": "ssh"},
		"resource": plain_host,
		"context": {"source_ip": "192.0.2.10"},
	}
}

test_ops_ssh_high_host_needs_step_up if {
	d := authz.decision with input as {"subject": ops_user, "action": {"name": "ssh"}, "resource": high_host}
	d.allow == true
	d.step_up == {"method": "totp"}
	d.session_max_seconds == 3600
}

test_ops_ssh_high_host_after_mfa if {
	d := authz.decision with input as {
		"subject": ops_user,
		"action": {"name": "ssh"},
		"resource": high_host,
		"context": {"mfa": {"method": "totp", "at": "2026-06-01T09:59:00Z"}},
	}
	d.allow == true
	not d.step_up
}

test_ops_sudo_plain_host if {
	authz.decision == {"allow": true, "policy_version": "2025.07.1"} with input as {
		"subject": ops_user,
		"action": {"name": "sudo", "properties": {"command": "/usr/bin/id"}},
		"resource": plain_host,
	}
}

test_ops_sudo_high_host_denied if {
	d := authz.decision with input as {"subject": ops_user, "action": {"name": "sudo"}, "resource": high_host}
	d.allow == false
	d.reason_user == "sudo is not allowed on high-sensitivity hosts"
}

test_mallory_never_sudo if {
	d := authz.decision with input as {
		"subject": {"type": "user", "id": "vgl-mallory", "properties": {"groups": ["ops"]}},
		"action": {"name": "sudo"},
		"resource": plain_host,
	}
	d.allow == false
	d.reason_user == "contractors cannot use sudo on this host"
}

test_weird_gets_unknown_obligation if {
	d := authz.decision with input as {
		"subject": {"type": "user", "id": "vgl-weird", "properties": {"groups": ["vgl-weird"]}},
		"action": {"name": "ssh"},
		"resource": plain_host,
	}
	d.allow == true
	d.launch_missiles == true
}

test_edr_down_denies if {
	d := authz.decision with input as {
		"subject": ops_user,
		"action": {"name": "ssh"},
		"resource": {"type": "host", "id": "web-02", "properties": {"posture": {"systemd.unit.falcon-sensor.service": "inactive"}}},
	}
	d.allow == false
	d.reason_user == "endpoint security sensor is not running on this host"
}

# Fail closed: no signal for the EDR unit (no collector follows it), an
# empty posture, only the name an older example read, or no posture at all.
sudo_on_host_with(posture) := d if {
	d := authz.decision with input as {
		"subject": ops_user,
		"action": {"name": "sudo"},
		"resource": {"type": "host", "id": "web-03", "properties": {"labels": {"sensitivity": "low"}, "posture": posture}},
	}
}

test_edr_signal_missing_denies if {
	d := sudo_on_host_with({"systemd.system_state": "running"})
	d.allow == false
	d.reason_user == "endpoint security sensor is not running on this host"
}

test_empty_posture_denies if {
	sudo_on_host_with({}).allow == false
}

test_legacy_edr_name_denies if {
	sudo_on_host_with({"edr": "active"}).allow == false
}

test_edr_active_allows_sudo if {
	sudo_on_host_with({"systemd.unit.falcon-sensor.service": "active"}).allow == true
}

test_no_posture_denies if {
	d := authz.decision with input as {
		"subject": ops_user,
		"action": {"name": "ssh"},
		"resource": {"type": "host", "id": "web-04"},
	}
	d.allow == false
}

test_elevate_with_purpose_and_mfa if {
	d := authz.decision with input as {
		"subject": ops_user,
		"action": {"name": "elevate"},
		"resource": plain_host,
		"context": {"purpose": "INC-1234", "mfa": {"method": "totp"}},
	}
	d.allow == true
	d.session_max_seconds == 900
	not d.grant
}

test_elevate_without_mfa_denied if {
	d := authz.decision with input as {
		"subject": ops_user,
		"action": {"name": "elevate"},
		"resource": plain_host,
		"context": {"purpose": "INC-1234"},
	}
	d.allow == false
}

test_other_groups_denied if {
	d := authz.decision with input as {
		"subject": {"type": "user", "id": "vgl-bob", "properties": {"groups": ["dev"]}},
		"action": {"name": "ssh"},
		"resource": plain_host,
	}
	d.allow == false
	d.reason_user == "no policy allows this request"
}

test_empty_input_denied if {
	authz.decision.allow == false with input as {}
}

# --- each command sudo runs: the cases of tests/pdp/policies/command_test.yaml

sre_user := {"type": "user", "id": "vgl-carol", "properties": {"groups": ["sre"]}}

web_01 := {"id": "web-01", "labels": {}, "posture": {"systemd.unit.falcon-sensor.service": "active"}}

command(id, argv, extra) := c if {
	base := {"argv": argv, "path_resolved": id, "runas_user": "root", "runas_uid": 0, "host": web_01}
	c := {"type": "command", "id": id, "properties": object.union(base, extra)}
}

sudo_command(subject, resource, ctx) := d if {
	d := authz.decision with input as {
		"subject": subject,
		"action": {"name": "sudo", "properties": {"service": "sudo", "argv_source": "plugin"}},
		"resource": resource,
		"context": ctx,
	}
}

test_ops_restart_nginx_as_root if {
	d := sudo_command(ops_user, command("/usr/bin/systemctl", ["systemctl", "restart", "nginx"], {}), {})
	d.allow == true
	not d.step_up
}

test_ops_restart_nginx_as_deploy_denied if {
	cmd := command("/usr/bin/systemctl", ["systemctl", "restart", "nginx"], {"runas_user": "deploy", "runas_uid": 1500})
	sudo_command(ops_user, cmd, {}).allow == false
}

test_ops_restart_with_an_option_denied if {
	cmd := command("/usr/bin/systemctl", ["systemctl", "restart", "nginx", "--no-block"], {})
	sudo_command(ops_user, cmd, {}).allow == false
}

test_ops_restart_sshd_denied if {
	sudo_command(ops_user, command("/usr/bin/systemctl", ["systemctl", "restart", "sshd"], {}), {}).allow == false
}

test_ops_stop_critical_needs_step_up if {
	d := sudo_command(ops_user, command("/usr/bin/systemctl", ["systemctl", "stop", "ssh.service"], {}), {})
	d.allow == true
	d.step_up == {"method": "totp"}
}

test_ops_stop_critical_after_mfa if {
	cmd := command("/usr/bin/systemctl", ["systemctl", "stop", "ssh.service"], {})
	d := sudo_command(ops_user, cmd, {"mfa": {"method": "totp"}})
	d.allow == true
	not d.step_up
}

test_shells_denied_even_to_sre if {
	shells := [
		command("/usr/bin/bash", ["bash", "-c", "id -u"], {}),
		command("/bin/bash", ["-bash"], {"path_resolved": "/usr/bin/bash"}),
		command("/usr/local/bin/shell", ["shell"], {"path_resolved": "/usr/bin/dash"}),
		command("/usr/bin/python3.11", ["python3.11", "-c", "import os; os.system('sh')"], {}),
		command("/usr/bin/env", ["env", "bash"], {}),
		command("/usr/bin/vim.basic", ["vim", "/etc/nginx/nginx.conf"], {}),
	]
	every subject in [ops_user, sre_user] {
		every cmd in shells {
			sudo_command(subject, cmd, {}).allow == false
		}
	}
}

test_shell_deny_says_why if {
	d := sudo_command(sre_user, command("/usr/bin/bash", ["bash"], {}), {})
	d.reason_user == "shells, editors and pagers are not allowed through sudo; use sudoedit to edit files"
}

test_sre_other_commands if {
	sudo_command(sre_user, command("/usr/bin/systemctl", ["systemctl", "restart", "sshd"], {}), {}).allow == true
}

test_other_groups_no_command if {
	bob := {"type": "user", "id": "vgl-bob", "properties": {"groups": ["dev"]}}
	sudo_command(bob, command("/usr/bin/systemctl", ["systemctl", "restart", "nginx"], {}), {}).allow == false
}

sudoedit(files) := c if {
	c := {"type": "command", "id": "sudoedit", "properties": {
		"argv": array.concat(["vi", "--"], files), "editor": "/usr/bin/vi",
		"sudoedit_files": files, "runas_user": "root", "host": web_01,
	}}
}

test_sudoedit_nginx_only if {
	sudo_command(ops_user, sudoedit(["/etc/nginx/nginx.conf"]), {}).allow == true
	sudo_command(ops_user, sudoedit(["/etc/nginx/../shadow"]), {}).allow == false
	sudo_command(ops_user, sudoedit(["/etc/nginx/nginx.conf", "/etc/shadow"]), {}).allow == false
}

test_no_command_while_edr_down if {
	down := {"id": "web-02", "posture": {"systemd.unit.falcon-sensor.service": "inactive"}}
	cmd := command("/usr/bin/systemctl", ["systemctl", "restart", "nginx"], {"host": down})
	d := sudo_command(ops_user, cmd, {})
	d.allow == false
	d.reason_user == "endpoint security sensor is not running on this host"
	# (object.union merges hosts: this one is written out.)
	no_posture := {"type": "command", "id": "/usr/bin/systemctl", "properties": {
		"argv": ["systemctl", "restart", "nginx"], "runas_user": "root", "host": {"id": "web-03"},
	}}
	sudo_command(ops_user, no_posture, {}).allow == false
}

# A host rule never allows a command: "ops may use sudo" is not "ops may run anything".
test_host_rules_do_not_allow_commands if {
	sudo_command(ops_user, command("/usr/bin/id", ["id"], {}), {}).allow == false
}

test_sre_may_use_sudo_on_the_host if {
	d := authz.decision with input as {"subject": sre_user, "action": {"name": "sudo"}, "resource": plain_host}
	d.allow == true
}
