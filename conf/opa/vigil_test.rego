# Unit tests for vigil.rego:   opa test conf/opa/
# Each case is an input as vigild sends it and the decision it must get;
# they mirror the Cerbos suite in tests/pdp/policies/host_test.yaml.
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
