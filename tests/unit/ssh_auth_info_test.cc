// SSH_AUTH_INFO_0 parsing. The samples are real: the *Cert/*Plain/*Then*
// texts were captured from sshd 9.2p1 (ExposeAuthInfo yes) through pam_exec
// in the session phase; the others are certificates ssh-keygen 9.2p1 signed,
// put in sshd's line format. Expected values are what `ssh-keygen -L -f` (TZ=UTC)
// and `ssh-keygen -l -f` print for them.
//
// Shared by the three keyid certificates (ed25519, ecdsa, rsa), all signed by
// the ed25519 CA SHA256:SpXUmS5AjPKDf5Zp15YaPyofjy/xE0+G/r+xBANrXoI with
//   ssh-keygen -s ca -I keyid -n alice,deploy -z 42 -V +1h -O force-command=/bin/true
// ssh-keygen -L:
//   Serial: 42
//   Valid: from 2026-11-26T04:01:00 to 2026-11-26T05:02:42
//   Principals: alice deploy
//   Critical Options: force-command /bin/true
//   Extensions: permit-X11-forwarding permit-agent-forwarding permit-port-forwarding
//               permit-pty permit-user-rc
#include "ssh_auth_info.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "engine.h"
#include "engine_testing.h"

using vigil::parse_ssh_auth_info;
using vigil::SshAuthInfo;
using vigil::SshCertificate;
using vigil::to_json;

namespace {

// sshd 9.2p1, session phase: ed25519 key with a user certificate (ed25519 CA).
constexpr std::string_view kEdCert =
    "publickey ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY"
    "29tAAAAIBguo5P/PY1hIC7EZYZVWLVqUeFsHd/Tr4kXwyGTpdZXAAAAIOJ7351EfN2O6jbUJMPBmqeGyxS+D1+Oz"
    "+6k85GUIvdSAAAAAAAAACoAAAABAAAABWtleWlkAAAAEwAAAAVhbGljZQAAAAZkZXBsb3kAAAAAaweu/AAAAABrB"
    "71yAAAAIgAAAA1mb3JjZS1jb21tYW5kAAAADQAAAAkvYmluL3RydWUAAACCAAAAFXBlcm1pdC1YMTEtZm9yd2FyZ"
    "GluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAAAAAFnBlcm1pdC1wb3J0LWZvcndhcmRpbmcAA"
    "AAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1pdC11c2VyLXJjAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5A"
    "AAAIIJ/5i4QEOoUZ0jYBtEE9SmipLD3KpB5nBFpN/b5cNWQAAAAUwAAAAtzc2gtZWQyNTUxOQAAAEBv0R7pXwW/e"
    "Kzxr5qTthG5Km4lw1auNaZPiyLtRP57897rg2nDiHgJBgF2I9PhnUXuHkQ17xv+RVdZB9de9KsK\n";

// sshd 9.2p1, session phase: ecdsa-sha2-nistp256 key with a user certificate.
constexpr std::string_view kEcdsaCert =
    "publickey ecdsa-sha2-nistp256-cert-v01@openssh.com AAAAKGVjZHNhLXNoYTItbmlzdHAyNTYtY2Vyd"
    "C12MDFAb3BlbnNzaC5jb20AAAAgYj1oQPZYgqYtyhyiTEM0j3N9FEGBHPFB6P5XfIejafMAAAAIbmlzdHAyNTYAA"
    "ABBBDlvs1bTdbJ+s5dQWsDmFGhtkZATdlfmvhBCgpXcX156URDC4WQwhqtVQpbyLnSnJVuUqY3s4pVI6x88M5sfW"
    "/cAAAAAAAAAKgAAAAEAAAAFa2V5aWQAAAATAAAABWFsaWNlAAAABmRlcGxveQAAAABrB678AAAAAGsHvXIAAAAiA"
    "AAADWZvcmNlLWNvbW1hbmQAAAANAAAACS9iaW4vdHJ1ZQAAAIIAAAAVcGVybWl0LVgxMS1mb3J3YXJkaW5nAAAAA"
    "AAAABdwZXJtaXQtYWdlbnQtZm9yd2FyZGluZwAAAAAAAAAWcGVybWl0LXBvcnQtZm9yd2FyZGluZwAAAAAAAAAKc"
    "GVybWl0LXB0eQAAAAAAAAAOcGVybWl0LXVzZXItcmMAAAAAAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAAggn/mL"
    "hAQ6hRnSNgG0QT1KaKksPcqkHmcEWk39vlw1ZAAAABTAAAAC3NzaC1lZDI1NTE5AAAAQPMI1rAoH/ns8EJtOqXpq"
    "wgcyXXvPZxQRY4oEu7AMgPvwb8LwLLJX0LdaVRr6Dx5aatzotmYINwFoex8RfTU8Qk=\n";

// sshd 9.2p1, session phase: RSA-2048 key with a user certificate.
constexpr std::string_view kRsaCert =
    "publickey ssh-rsa-cert-v01@openssh.com AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20AAAAgp"
    "+zY2+kC2bpzp4ra9Nr0W49PXXPrls0AgNVDNnRj8ywAAAADAQABAAABAQCdkM3nkEzVQ4+ebt1z64RYwzjjqdKqM"
    "hNDT30m8Xtp9DmwZDuNJTYLu55lwVlqnzszKo6fkA+Yc4cjFKjZ4hm+tiWNdqldF+jFvw+tS+MhKgVuQp0alqW6s"
    "Fzv1sVimff+y53xx7pMUGUx6Ev0pLsHZNDiLgRAsX75Haoj3mG39URyOhIAsm/Hu4nyZ9TvLvc/1+z/7WYyVc2JR"
    "ze9JjRvKukgqWXr5XbKHcll8jrhUTzQBDk5dI/QFJcwT9mzRb5fndop4dWt/N3ORktzM1zGCYEA9axqPxMfRMaNW"
    "o8uFW5jL2S2Tl/atzHNLmA+gTMMHP5mtvnic3yZa9OuNFpxAAAAAAAAACoAAAABAAAABWtleWlkAAAAEwAAAAVhb"
    "GljZQAAAAZkZXBsb3kAAAAAaweu/AAAAABrB71yAAAAIgAAAA1mb3JjZS1jb21tYW5kAAAADQAAAAkvYmluL3Ryd"
    "WUAAACCAAAAFXBlcm1pdC1YMTEtZm9yd2FyZGluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAA"
    "AAAFnBlcm1pdC1wb3J0LWZvcndhcmRpbmcAAAAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1pdC11c2VyLXJjA"
    "AAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIIJ/5i4QEOoUZ0jYBtEE9SmipLD3KpB5nBFpN/b5cNWQAAAAU"
    "wAAAAtzc2gtZWQyNTUxOQAAAED5xS6rbwjJLB/PO04Mcc274aTGmu7QDbVUPfIw62TkbFwashy+zFE1ROaAsQrr2"
    "eBdvkFsot20BqRuFRlm7qUN\n";

// sshd 9.2p1, session phase: plain ed25519 key from authorized_keys.
constexpr std::string_view kEdPlain =
    "publickey ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAIOJ7351EfN2O6jbUJMPBmqeGyxS+D1+Oz+6k85GUIvdS\n";

// sshd 9.2p1, session phase: plain ecdsa-sha2-nistp256 key.
constexpr std::string_view kEcdsaPlain =
    "publickey ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDlvs1"
    "bTdbJ+s5dQWsDmFGhtkZATdlfmvhBCgpXcX156URDC4WQwhqtVQpbyLnSnJVuUqY3s4pVI6x88M5sfW/c=\n";

// sshd 9.2p1, AuthenticationMethods publickey,publickey: RSA certificate, then plain ed25519.
constexpr std::string_view kCertThenKey =
    "publickey ssh-rsa-cert-v01@openssh.com AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20AAAAgp"
    "+zY2+kC2bpzp4ra9Nr0W49PXXPrls0AgNVDNnRj8ywAAAADAQABAAABAQCdkM3nkEzVQ4+ebt1z64RYwzjjqdKqM"
    "hNDT30m8Xtp9DmwZDuNJTYLu55lwVlqnzszKo6fkA+Yc4cjFKjZ4hm+tiWNdqldF+jFvw+tS+MhKgVuQp0alqW6s"
    "Fzv1sVimff+y53xx7pMUGUx6Ev0pLsHZNDiLgRAsX75Haoj3mG39URyOhIAsm/Hu4nyZ9TvLvc/1+z/7WYyVc2JR"
    "ze9JjRvKukgqWXr5XbKHcll8jrhUTzQBDk5dI/QFJcwT9mzRb5fndop4dWt/N3ORktzM1zGCYEA9axqPxMfRMaNW"
    "o8uFW5jL2S2Tl/atzHNLmA+gTMMHP5mtvnic3yZa9OuNFpxAAAAAAAAACoAAAABAAAABWtleWlkAAAAEwAAAAVhb"
    "GljZQAAAAZkZXBsb3kAAAAAaweu/AAAAABrB71yAAAAIgAAAA1mb3JjZS1jb21tYW5kAAAADQAAAAkvYmluL3Ryd"
    "WUAAACCAAAAFXBlcm1pdC1YMTEtZm9yd2FyZGluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAA"
    "AAAFnBlcm1pdC1wb3J0LWZvcndhcmRpbmcAAAAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1pdC11c2VyLXJjA"
    "AAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIIJ/5i4QEOoUZ0jYBtEE9SmipLD3KpB5nBFpN/b5cNWQAAAAU"
    "wAAAAtzc2gtZWQyNTUxOQAAAED5xS6rbwjJLB/PO04Mcc274aTGmu7QDbVUPfIw62TkbFwashy+zFE1ROaAsQrr2"
    "eBdvkFsot20BqRuFRlm7qUN\n"
    "publickey ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAIOJ7351EfN2O6jbUJMPBmqeGyxS+D1+Oz+6k85GUIvdS\n";

// sshd 9.2p1, AuthenticationMethods publickey,keyboard-interactive (PAM).
constexpr std::string_view kCertThenKbd =
    "publickey ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY"
    "29tAAAAIBguo5P/PY1hIC7EZYZVWLVqUeFsHd/Tr4kXwyGTpdZXAAAAIOJ7351EfN2O6jbUJMPBmqeGyxS+D1+Oz"
    "+6k85GUIvdSAAAAAAAAACoAAAABAAAABWtleWlkAAAAEwAAAAVhbGljZQAAAAZkZXBsb3kAAAAAaweu/AAAAABrB"
    "71yAAAAIgAAAA1mb3JjZS1jb21tYW5kAAAADQAAAAkvYmluL3RydWUAAACCAAAAFXBlcm1pdC1YMTEtZm9yd2FyZ"
    "GluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAAAAAFnBlcm1pdC1wb3J0LWZvcndhcmRpbmcAA"
    "AAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1pdC11c2VyLXJjAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5A"
    "AAAIIJ/5i4QEOoUZ0jYBtEE9SmipLD3KpB5nBFpN/b5cNWQAAAAUwAAAAtzc2gtZWQyNTUxOQAAAEBv0R7pXwW/e"
    "Kzxr5qTthG5Km4lw1auNaZPiyLtRP57897rg2nDiHgJBgF2I9PhnUXuHkQ17xv+RVdZB9de9KsK\n"
    "keyboard-interactive/pam\n";

// ssh-keygen 9.2p1 (-s RSA CA, -V always:forever, -z 2^64-1, source-address, no-pty,
// no-x11-forwarding), in sshd's line format.
constexpr std::string_view kEcdsa384Cert =
    "publickey ecdsa-sha2-nistp384-cert-v01@openssh.com AAAAKGVjZHNhLXNoYTItbmlzdHAzODQtY2Vyd"
    "C12MDFAb3BlbnNzaC5jb20AAAAgtq8t4/1von88LeCEfZoKEFZRIV7cZ/QGCKBO8M990i4AAAAIbmlzdHAzODQAA"
    "ABhBDGWL3hkrQGjQS1eHd/J76XL4Sc1/iG50SznINZwWTFlO4+fxBjYLl/aYZa6mdIs9KtpOTYI8qFQCPiHTQhPs"
    "GQ96jMM3UyhABzNEu9fktHHksdeytcTuRpu11hjxkQeC///////////AAAAAQAAAAtjaS1ydW5uZXIgNwAAAAoAA"
    "AAGZGVwbG95AAAAAAAAAAD//////////wAAADMAAAAOc291cmNlLWFkZHJlc3MAAAAdAAAAGTEwLjAuMC4wLzgsM"
    "TkyLjE2OC4xLjAvMjQAAABTAAAAF3Blcm1pdC1hZ2VudC1mb3J3YXJkaW5nAAAAAAAAABZwZXJtaXQtcG9ydC1mb"
    "3J3YXJkaW5nAAAAAAAAAA5wZXJtaXQtdXNlci1yYwAAAAAAAAAAAAABlwAAAAdzc2gtcnNhAAAAAwEAAQAAAYEAs"
    "/O2dxtY2DadGiH1DRfEl92GJk47QJzdQi8rJEa/NnCMJokrqO5ZyBiiWb1A+0lBV4qPjhl112n9/f/oLVtzKW6//"
    "u0Cc1cuxfMNpznSHdvqj4OqmiJ9M+oexfr+UeiYsOFGIP8S1N2rIINb2uSxb0Fc+707RrtzmKeGic7Kqs/QpL8Oy"
    "MJ420cQDHrDO3M6z0IV9uYwQyDmr5/TG1tsK2nOx4BwOGQJikqtAhxXFLwT1R0wfHLXURdp1dZVAmnyRFuEJ3ILJ"
    "QNAimKGkVVQF3s+G/JBEELP49Kmbl2GjvmwHAsUMRjItOXU2nipmJe8y+9oCFPR9VzDDqxMPiTwK9SvCc99a4kYf"
    "IpUnxRJ6Bu5CIhypgf4WBQWrL2V1M2nNEfqpFcexyBku7ceACPNt+uROX6ODjon+tagcUMYzdp0tX8AyQTGrre2U"
    "Iq3tunX7a/iN19MS2sEKW/ZaFShoEZo8mgqUcXQ9oliFDGQqPVO/JZXPc0xMCJghA05LNZzAAABlAAAAAxyc2Etc"
    "2hhMi01MTIAAAGAZj8VzhYsOjt9GbpM57xg4fBLpkj+vHq4x+yQEfdtoSXEg6uaOWV+ebfs2rW/yGt2zLIeJT9If"
    "kNasjwISPYeaSUNNPRxk05a6GiGW2NvTb9w77rT2c0M39SG7S88keytaNBzaVzk5P3ncIqAeCWPwoth89lxE7Ld9"
    "wvsul+daKxksE5qENk3Xn/jac6Z2dqUYmg/j2Yo+SRpspm5kDQUClfIZ8OTO2YZAfyfixPeNCNa1iMww1w27Tixy"
    "P9bIIY9OGoXANV2Y+VO65i8TcSeQRfjs5MLUMfqKP3Vc0h5TvdDm1yzx6VDXoC2V06KpnoZoYaHqy7dqmLwepaZe"
    "f7TDbJURZ4FFA+yTGEZsdx+5LWQNhmlAjzmDdcjntrJYYxqKrA03Q9sjSpbxDFH0U2IwEYtnZUEJziLP/nj+z8Jg"
    "80Lx/nqbAi6JbgQrEolnD11P+f6x7VFzbfeXyu20WDZu9uSyJZodSpxv1+Xw/M/JYJd2gf1nQexgV39vG1fROGL\n";

// ssh-keygen 9.2p1: a host certificate (-h), ecdsa-sha2-nistp521, serial 0, as a hostbased line.
constexpr std::string_view kEcdsa521HostCert =
    "hostbased ecdsa-sha2-nistp521-cert-v01@openssh.com AAAAKGVjZHNhLXNoYTItbmlzdHA1MjEtY2Vyd"
    "C12MDFAb3BlbnNzaC5jb20AAAAg/h1mcasWNDlvpMvGJrVOeDJvWZBTAflEa9VwrOTJFTwAAAAIbmlzdHA1MjEAA"
    "ACFBAHgVQ5Zm/Bf/oBKu9JOqses+gDkX1pD9GjC60vx20BZcWln0qQPeOMOnYd1R9haJv3W1vmN9PmftIPNZIO9q"
    "wBwMAHIs7BPjWoQqDExPipXSSZ8E7b9NYR76TbkTLG6Qx2npwRArmc9quuBB6iIdAhKeLbJ6k7n+tib9498x03MW"
    "j775AAAAAAAAAAAAAAAAgAAAAxob3N0LmV4YW1wbGUAAAAcAAAADGhvc3QuZXhhbXBsZQAAAAgxMC4xLjIuMwAAA"
    "ABlkgCAAAAAAGW63wAAAAAAAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIIJ/5i4QEOoUZ0jYBtEE9Smip"
    "LD3KpB5nBFpN/b5cNWQAAAAUwAAAAtzc2gtZWQyNTUxOQAAAECTb+urbORgW+YHtB8Dx4UlXsRWLbnL8gEH0ovaR"
    "mfioQgTukOOlYOo9oa2Vrj2EXLpq/nJbn9YBw6Sn+5xi2sH\n";

// ssh-keygen 9.2p1: sk-ssh-ed25519 certificate (-O verify-required); sshd appends the FIDO
// signature count.
constexpr std::string_view kSkEd25519Cert =
    "publickey sk-ssh-ed25519-cert-v01@openssh.com AAAAI3NrLXNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW"
    "5zc2guY29tAAAAILxUoJ7sqBIhrz2BBuVrPO4pJkC7HGsAxxs3gtxdO9MfAAAAIOJ7351EfN2O6jbUJMPBmqeGyx"
    "S+D1+Oz+6k85GUIvdSAAAABHNzaDoAAAAAAAAABwAAAAEAAAAFc2stZWQAAAAJAAAABWFsaWNlAAAAAGd0hYAAAA"
    "AAekMrgAAAABcAAAAPdmVyaWZ5LXJlcXVpcmVkAAAAAAAAAIIAAAAVcGVybWl0LVgxMS1mb3J3YXJkaW5nAAAAAA"
    "AAABdwZXJtaXQtYWdlbnQtZm9yd2FyZGluZwAAAAAAAAAWcGVybWl0LXBvcnQtZm9yd2FyZGluZwAAAAAAAAAKcG"
    "VybWl0LXB0eQAAAAAAAAAOcGVybWl0LXVzZXItcmMAAAAAAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAAggn/mLh"
    "AQ6hRnSNgG0QT1KaKksPcqkHmcEWk39vlw1ZAAAABTAAAAC3NzaC1lZDI1NTE5AAAAQKzTmD+lFFJMQX7mKzAMfu"
    "GVclIIshyls1GS1rLHTqtMVzWQNMliiBdUE8Cz/O8kDue26Sts2HSzxOKAPTNEDg4= signature count = 5\n";

// ssh-keygen 9.2p1: sk-ecdsa-sha2-nistp256 certificate, application "ssh:vigil", RSA CA,
// -O clear -O permit-pty.
constexpr std::string_view kSkEcdsaCert =
    "publickey sk-ecdsa-sha2-nistp256-cert-v01@openssh.com AAAAK3NrLWVjZHNhLXNoYTItbmlzdHAyNT"
    "YtY2VydC12MDFAb3BlbnNzaC5jb20AAAAgW2QpXcdphUnwPUUZoGdU9grtdMlgf+CyKb4hHscX0fwAAAAIbmlzdH"
    "AyNTYAAABBBDlvs1bTdbJ+s5dQWsDmFGhtkZATdlfmvhBCgpXcX156URDC4WQwhqtVQpbyLnSnJVuUqY3s4pVI6x"
    "88M5sfW/cAAAAJc3NoOnZpZ2lsAAAAAAAAAAgAAAABAAAABXNrLWVjAAAAGQAAAAVhbGljZQAAAANib2IAAAAFY2"
    "Fyb2wAAAAAAAAAAP//////////AAAAAAAAABIAAAAKcGVybWl0LXB0eQAAAAAAAAAAAAABlwAAAAdzc2gtcnNhAA"
    "AAAwEAAQAAAYEAs/O2dxtY2DadGiH1DRfEl92GJk47QJzdQi8rJEa/NnCMJokrqO5ZyBiiWb1A+0lBV4qPjhl112"
    "n9/f/oLVtzKW6//u0Cc1cuxfMNpznSHdvqj4OqmiJ9M+oexfr+UeiYsOFGIP8S1N2rIINb2uSxb0Fc+707RrtzmK"
    "eGic7Kqs/QpL8OyMJ420cQDHrDO3M6z0IV9uYwQyDmr5/TG1tsK2nOx4BwOGQJikqtAhxXFLwT1R0wfHLXURdp1d"
    "ZVAmnyRFuEJ3ILJQNAimKGkVVQF3s+G/JBEELP49Kmbl2GjvmwHAsUMRjItOXU2nipmJe8y+9oCFPR9VzDDqxMPi"
    "TwK9SvCc99a4kYfIpUnxRJ6Bu5CIhypgf4WBQWrL2V1M2nNEfqpFcexyBku7ceACPNt+uROX6ODjon+tagcUMYzd"
    "p0tX8AyQTGrre2UIq3tunX7a/iN19MS2sEKW/ZaFShoEZo8mgqUcXQ9oliFDGQqPVO/JZXPc0xMCJghA05LNZzAA"
    "ABlAAAAAxyc2Etc2hhMi01MTIAAAGAUVBftdT8lCgK0AqhdEuPkOaY7puOoUcYrjFHL5AASmp61WGbpPgRDn0LoI"
    "JvASaV7iitSaf54QyS2eBk65YwS+FErFqSemAC+AzCNl5r/GLbhI5lsbXHC2TFEiKArHIuE+6QhVmccy3a/wHCEx"
    "CCR2H3EdkK/eurgMy73DFZ0Qyhk/HZYnB0BbbwtSoM8Ue9exBQwbH2CiXwVbKD+Q0ATB3+z9znj9MgNflNHxecCB"
    "j+TzygeoQy305hnFCmftCXLc0MPxnGb1T+qcpv8HZY4sJco4usiVExAAMRPCGIsaYaftgGRzg4sGf4p98DvasIfw"
    "7hL2byZCN6oDeN8TgpEEPF2r2dKeysic3mWEzAj1yV+3e8dVPZo2PKW07vlWN/j/VPW+5z6hsYa/C9NPAJ4Uk4A/"
    "BQC4q6jE0sy9P+CJ+bhY0YicxAhhGkUpTX/pBBCGM3ab3+2ZSWlTIY840szCRtputKz31RblxZzCbXIU3Y5WX57X"
    "5DrsGiEcKw1ABs\n";

constexpr std::string_view kEdCaFingerprint = "SHA256:SpXUmS5AjPKDf5Zp15YaPyofjy/xE0+G/r+xBANrXoI";
constexpr std::string_view kRsaCaFingerprint = "SHA256:9jupCf/PGDK06eB4M08YouhsYeYIDoX6HOJPuL41c4k";
constexpr uint64_t kKeyidFrom = 1795665660;  // 2026-11-26T04:01:00Z
constexpr uint64_t kKeyidTo = 1795669362;    // 2026-11-26T05:02:42Z
const std::vector<std::string> kDefaultExtensions = {"permit-X11-forwarding", "permit-agent-forwarding",
                                                     "permit-port-forwarding", "permit-pty", "permit-user-rc"};

using Options = std::vector<std::pair<std::string, std::string>>;

void check_keyid_cert(const SshCertificate& c, std::string_view key_type) {
    CHECK(c.key_type == key_type);
    CHECK(c.user_cert);
    CHECK(c.serial == 42);
    CHECK(c.key_id == "keyid");
    CHECK(c.principals == std::vector<std::string>{"alice", "deploy"});
    CHECK(c.valid_after == kKeyidFrom);
    CHECK(c.valid_before == kKeyidTo);
    CHECK(c.critical_options == Options{{"force-command", "/bin/true"}});
    CHECK(c.extensions == kDefaultExtensions);
    CHECK(c.ca_key_type == "ssh-ed25519");
    CHECK(c.ca_fingerprint == kEdCaFingerprint);
}

std::string b64encode(std::string_view raw) {
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

std::string b64decode(std::string_view text) {
    std::string out(text.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    REQUIRE(n == static_cast<int>(out.size()));
    size_t pad = text.size() - text.find_last_not_of('=') - 1;
    out.resize(out.size() - pad);
    return out;
}

// The key blob of a one-line sample: "method type BASE64[ info]\n".
struct KeyLine {
    std::string method, type, blob;
};

KeyLine split_key_line(std::string_view line) {
    size_t a = line.find(' ');
    size_t b = line.find(' ', a + 1);
    size_t c = line.find_first_of(" \n", b + 1);
    return {std::string(line.substr(0, a)), std::string(line.substr(a + 1, b - a - 1)),
            b64decode(line.substr(b + 1, c - b - 1))};
}

std::string key_line(const std::string& type, std::string_view blob) {
    return "publickey " + type + " " + b64encode(blob) + "\n";
}

// SSH wire encoding, to build certificates the parser must refuse.
struct Wire {
    std::string s;
    Wire& u32(uint32_t v) {
        for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
        return *this;
    }
    Wire& u64(uint64_t v) {
        for (int shift = 56; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
        return *this;
    }
    Wire& str(std::string_view v) {
        u32(static_cast<uint32_t>(v.size()));
        s.append(v);
        return *this;
    }
};

const std::string kEdType = "ssh-ed25519-cert-v01@openssh.com";

struct CertSpec {
    std::string type = kEdType;
    std::string key_fields = Wire().str(std::string(32, 'k')).s;
    uint64_t serial = 1;
    uint32_t cert_type = 1;
    std::string key_id = "id";
    std::vector<std::string> principals = {"alice"};
    std::string critical_options;  // packed, already wire-encoded
    std::string extensions;
    std::string ca_key = Wire().str("ssh-ed25519").str(std::string(32, 'c')).s;
    std::string signature = Wire().str("ssh-ed25519").str(std::string(64, 's')).s;
    std::string trailing;

    std::string blob() const {
        Wire p;
        for (const auto& name : principals) p.str(name);
        Wire w;
        w.str(type).str("nonce");
        w.s += key_fields;
        w.u64(serial).u32(cert_type).str(key_id).str(p.s).u64(0).u64(UINT64_MAX);
        w.str(critical_options).str(extensions).str("").str(ca_key).str(signature);
        return w.s + trailing;
    }
    std::string line() const { return key_line(type, blob()); }
};

std::string error_of(std::string_view text) {
    auto r = parse_ssh_auth_info(text);
    if (r) return "(parsed)";
    return r.error().message;
}

}  // namespace

TEST_CASE("ssh auth info: ed25519 certificate from sshd matches ssh-keygen -L") {
    auto info = parse_ssh_auth_info(kEdCert);
    REQUIRE(info);
    REQUIRE(info->methods.size() == 1);
    const auto& m = info->methods[0];
    CHECK(m.method == "publickey");
    CHECK(m.submethod.empty());
    CHECK(m.key_type == "ssh-ed25519-cert-v01@openssh.com");
    // "Public key: ED25519-CERT SHA256:9uCN..." is the certified key's print,
    // the same as `ssh-keygen -l` of the plain key and sshd's log line.
    CHECK(m.fingerprint == "SHA256:9uCNnqeWGaxmxumQquydKfXzdB1Y9+ru+cPVu4zY7iQ");
    CHECK(m.info.empty());
    REQUIRE(m.certificate);
    check_keyid_cert(*m.certificate, "ssh-ed25519-cert-v01@openssh.com");
    CHECK(info->first_certificate() == &*m.certificate);
}

TEST_CASE("ssh auth info: ecdsa and rsa certificates from sshd match ssh-keygen -L") {
    auto ec = parse_ssh_auth_info(kEcdsaCert);
    REQUIRE(ec);
    REQUIRE(ec->methods.size() == 1);
    CHECK(ec->methods[0].fingerprint == "SHA256:opp5B2F58l7aQf1ef+zETjs9D8Kg3F8titUwMYpCqzk");
    REQUIRE(ec->methods[0].certificate);
    check_keyid_cert(*ec->methods[0].certificate, "ecdsa-sha2-nistp256-cert-v01@openssh.com");

    auto rsa = parse_ssh_auth_info(kRsaCert);
    REQUIRE(rsa);
    REQUIRE(rsa->methods.size() == 1);
    CHECK(rsa->methods[0].fingerprint == "SHA256:7sn6ydiniYof5YR8NAzPOMRQElKvsiNJeHsEIiTu7RM");
    REQUIRE(rsa->methods[0].certificate);
    check_keyid_cert(*rsa->methods[0].certificate, "ssh-rsa-cert-v01@openssh.com");
}

TEST_CASE("ssh auth info: nistp384 certificate from an RSA CA that never expires") {
    // ssh-keygen -L: Public key: ECDSA-CERT SHA256:7sg3Vz2d...; Signing CA: RSA
    // SHA256:9jupCf... (using rsa-sha2-512); Key ID: "ci-runner 7";
    // Serial: 18446744073709551615; Valid: forever; Principals: deploy;
    // Critical Options: source-address 10.0.0.0/8,192.168.1.0/24;
    // Extensions: permit-agent-forwarding permit-port-forwarding permit-user-rc
    auto info = parse_ssh_auth_info(kEcdsa384Cert);
    REQUIRE(info);
    REQUIRE(info->methods.size() == 1);
    CHECK(info->methods[0].fingerprint == "SHA256:7sg3Vz2dQJdIAc4x7QenU1aF0k5R7Nj43rraXH+AN74");
    const SshCertificate* c = info->first_certificate();
    REQUIRE(c != nullptr);
    CHECK(c->key_type == "ecdsa-sha2-nistp384-cert-v01@openssh.com");
    CHECK(c->user_cert);
    CHECK(c->key_id == "ci-runner 7");
    CHECK(c->serial == UINT64_MAX);
    CHECK(c->valid_after == 0);
    CHECK(c->valid_before == vigil::kSshCertForever);
    CHECK(c->principals == std::vector<std::string>{"deploy"});
    CHECK(c->critical_options == Options{{"source-address", "10.0.0.0/8,192.168.1.0/24"}});
    CHECK(c->extensions ==
          std::vector<std::string>{"permit-agent-forwarding", "permit-port-forwarding", "permit-user-rc"});
    CHECK(c->ca_key_type == "ssh-rsa");
    CHECK(c->ca_fingerprint == kRsaCaFingerprint);
}

TEST_CASE("ssh auth info: nistp521 host certificate on a hostbased line") {
    // ssh-keygen -L: ecdsa-sha2-nistp521-cert-v01@openssh.com host certificate;
    // Public key: ECDSA-CERT SHA256:tA9YGczV...; Key ID: "host.example"; Serial: 0;
    // Valid: from 2024-01-01T00:00:00 to 2024-02-01T00:00:00;
    // Principals: host.example 10.1.2.3; Critical Options: (none); Extensions: (none)
    auto info = parse_ssh_auth_info(kEcdsa521HostCert);
    REQUIRE(info);
    REQUIRE(info->methods.size() == 1);
    CHECK(info->methods[0].method == "hostbased");
    CHECK(info->methods[0].fingerprint == "SHA256:tA9YGczVCfbWMKrpqrqmYp39+C6PEtA7VctF+bypaLU");
    const SshCertificate* c = info->first_certificate();
    REQUIRE(c != nullptr);
    CHECK(c->key_type == "ecdsa-sha2-nistp521-cert-v01@openssh.com");
    CHECK_FALSE(c->user_cert);
    CHECK(c->key_id == "host.example");
    CHECK(c->serial == 0);
    CHECK(c->valid_after == 1704067200);
    CHECK(c->valid_before == 1706745600);
    CHECK(c->principals == std::vector<std::string>{"host.example", "10.1.2.3"});
    CHECK(c->critical_options.empty());
    CHECK(c->extensions.empty());
    CHECK(c->ca_fingerprint == kEdCaFingerprint);
    auto j = to_json(*info);
    CHECK(j["certificate"]["type"] == "host");
    CHECK(j["certificate"]["critical_options"] == nlohmann::ordered_json::object());
    CHECK(j["certificate"]["extensions"] == nlohmann::ordered_json::array());
}

TEST_CASE("ssh auth info: security key certificates skip the application field") {
    // ssh-keygen -L: sk-ssh-ed25519-cert-v01@openssh.com user certificate;
    // Public key: ED25519-SK-CERT SHA256:iB0Jz0wD...; Key ID: "sk-ed"; Serial: 7;
    // Valid: from 2025-01-01T00:00:00 to 2035-01-01T00:00:00; Principals: alice;
    // Critical Options: verify-required; default extensions.
    auto ed = parse_ssh_auth_info(kSkEd25519Cert);
    REQUIRE(ed);
    REQUIRE(ed->methods.size() == 1);
    CHECK(ed->methods[0].key_type == "sk-ssh-ed25519-cert-v01@openssh.com");
    CHECK(ed->methods[0].fingerprint == "SHA256:iB0Jz0wDysOdngzIr8TQz7DZb8AbZqtMfGuMKkWBDtU");
    CHECK(ed->methods[0].info == "signature count = 5");
    const SshCertificate* c = ed->first_certificate();
    REQUIRE(c != nullptr);
    CHECK(c->key_id == "sk-ed");
    CHECK(c->serial == 7);
    CHECK(c->valid_after == 1735689600);
    CHECK(c->valid_before == 2051222400);
    CHECK(c->principals == std::vector<std::string>{"alice"});
    CHECK(c->critical_options == Options{{"verify-required", ""}});
    CHECK(c->extensions == kDefaultExtensions);
    CHECK(c->ca_fingerprint == kEdCaFingerprint);

    // ssh-keygen -L: sk-ecdsa-sha2-nistp256-cert-v01@openssh.com user certificate;
    // Public key: ECDSA-SK-CERT SHA256:AyVqF6MA...; Signing CA: RSA SHA256:9jupCf...;
    // Key ID: "sk-ec"; Serial: 8; Valid: forever; Principals: alice bob carol;
    // Critical Options: (none); Extensions: permit-pty
    auto ec = parse_ssh_auth_info(kSkEcdsaCert);
    REQUIRE(ec);
    REQUIRE(ec->methods.size() == 1);
    CHECK(ec->methods[0].fingerprint == "SHA256:AyVqF6MAI23+DIeBJqpRHp/oVnQxMH5e1cWkinVgXxw");
    c = ec->first_certificate();
    REQUIRE(c != nullptr);
    CHECK(c->key_type == "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com");
    CHECK(c->key_id == "sk-ec");
    CHECK(c->serial == 8);
    CHECK(c->valid_before == vigil::kSshCertForever);
    CHECK(c->principals == std::vector<std::string>{"alice", "bob", "carol"});
    CHECK(c->critical_options.empty());
    CHECK(c->extensions == std::vector<std::string>{"permit-pty"});
    CHECK(c->ca_key_type == "ssh-rsa");
    CHECK(c->ca_fingerprint == kRsaCaFingerprint);
}

TEST_CASE("ssh auth info: plain keys carry a type and fingerprint, no certificate") {
    auto ed = parse_ssh_auth_info(kEdPlain);
    REQUIRE(ed);
    REQUIRE(ed->methods.size() == 1);
    CHECK(ed->methods[0].key_type == "ssh-ed25519");
    // ssh-keygen -l: 256 SHA256:9uCN... alice@ed (ED25519)
    CHECK(ed->methods[0].fingerprint == "SHA256:9uCNnqeWGaxmxumQquydKfXzdB1Y9+ru+cPVu4zY7iQ");
    CHECK_FALSE(ed->methods[0].certificate);
    CHECK(ed->first_certificate() == nullptr);
    CHECK_FALSE(to_json(*ed).contains("certificate"));

    auto ec = parse_ssh_auth_info(kEcdsaPlain);
    REQUIRE(ec);
    REQUIRE(ec->methods.size() == 1);
    CHECK(ec->methods[0].key_type == "ecdsa-sha2-nistp256");
    CHECK(ec->methods[0].fingerprint == "SHA256:opp5B2F58l7aQf1ef+zETjs9D8Kg3F8titUwMYpCqzk");
    CHECK_FALSE(ec->methods[0].certificate);
}

TEST_CASE("ssh auth info: several methods keep sshd's order") {
    auto keys = parse_ssh_auth_info(kCertThenKey);
    REQUIRE(keys);
    REQUIRE(keys->methods.size() == 2);
    CHECK(keys->methods[0].key_type == "ssh-rsa-cert-v01@openssh.com");
    REQUIRE(keys->methods[0].certificate);
    check_keyid_cert(*keys->methods[0].certificate, "ssh-rsa-cert-v01@openssh.com");
    CHECK(keys->methods[1].key_type == "ssh-ed25519");
    CHECK(keys->methods[1].fingerprint == "SHA256:9uCNnqeWGaxmxumQquydKfXzdB1Y9+ru+cPVu4zY7iQ");
    CHECK_FALSE(keys->methods[1].certificate);
    CHECK(keys->first_certificate() == &*keys->methods[0].certificate);

    auto kbd = parse_ssh_auth_info(kCertThenKbd);
    REQUIRE(kbd);
    REQUIRE(kbd->methods.size() == 2);
    CHECK(kbd->methods[0].certificate);
    CHECK(kbd->methods[1].method == "keyboard-interactive");
    CHECK(kbd->methods[1].submethod == "pam");
    CHECK(kbd->methods[1].key_type.empty());
    CHECK(kbd->methods[1].fingerprint.empty());
    CHECK_FALSE(kbd->methods[1].certificate);
    auto j = to_json(*kbd);
    REQUIRE(j["methods"].size() == 2);
    CHECK(j["methods"][1]["method"] == "keyboard-interactive");
    CHECK(j["methods"][1]["submethod"] == "pam");
    CHECK(j["certificate"]["key_id"] == "keyid");
}

TEST_CASE("ssh auth info: methods without a key") {
    auto info = parse_ssh_auth_info("password\nkeyboard-interactive\ngssapi-with-mic alice@EXAMPLE.ORG\nnone");
    REQUIRE(info);
    REQUIRE(info->methods.size() == 4);
    CHECK(info->methods[0].method == "password");
    CHECK(info->methods[1].method == "keyboard-interactive");
    CHECK(info->methods[1].submethod.empty());
    CHECK(info->methods[2].method == "gssapi-with-mic");
    CHECK(info->methods[2].info == "alice@EXAMPLE.ORG");
    CHECK(info->methods[3].method == "none");
    CHECK(info->first_certificate() == nullptr);
}

TEST_CASE("ssh auth info: empty text is no methods, not an error") {
    // sshd leaves SSH_AUTH_INFO_0 empty in the account phase of a
    // single-method login.
    auto info = parse_ssh_auth_info("");
    REQUIRE(info);
    CHECK(info->methods.empty());
    CHECK(to_json(*info).dump() == R"({"methods":[]})");
}

TEST_CASE("ssh auth info: JSON has times as seconds and RFC 3339") {
    auto info = parse_ssh_auth_info(kEdCert);
    REQUIRE(info);
    auto j = to_json(*info);
    const auto& c = j["certificate"];
    CHECK(j["methods"][0]["certificate"] == c);
    CHECK(j["methods"][0]["fingerprint"] == "SHA256:9uCNnqeWGaxmxumQquydKfXzdB1Y9+ru+cPVu4zY7iQ");
    CHECK(c["key_type"] == "ssh-ed25519-cert-v01@openssh.com");
    CHECK(c["type"] == "user");
    CHECK(c["serial"] == 42);
    CHECK(c["key_id"] == "keyid");
    CHECK(c["principals"] == nlohmann::ordered_json::array({"alice", "deploy"}));
    CHECK(c["valid_after"] == kKeyidFrom);
    CHECK(c["valid_after_rfc3339"] == "2026-11-26T04:01:00Z");
    CHECK(c["valid_before"] == kKeyidTo);
    CHECK(c["valid_before_rfc3339"] == "2026-11-26T05:02:42Z");
    CHECK(c["expires"] == true);
    CHECK(c["critical_options"]["force-command"] == "/bin/true");
    CHECK(c["extensions"].size() == 5);
    CHECK(c["ca_key_type"] == "ssh-ed25519");
    CHECK(c["ca_fingerprint"] == kEdCaFingerprint);

    auto forever = parse_ssh_auth_info(kEcdsa384Cert);
    REQUIRE(forever);
    auto f = to_json(*forever)["certificate"];
    CHECK(f["valid_after_rfc3339"] == "1970-01-01T00:00:00Z");
    CHECK(f["valid_before_rfc3339"] == "9999-12-31T23:59:59Z");
    CHECK(f["expires"] == false);
    // u64 values survive a round trip through text.
    auto again = nlohmann::json::parse(to_json(*forever).dump());
    CHECK(again["certificate"]["serial"].get<uint64_t>() == UINT64_MAX);
    CHECK(again["certificate"]["valid_before"].get<uint64_t>() == UINT64_MAX);
}

TEST_CASE("ssh auth info: RFC 3339 times") {
    CHECK(vigil::ssh_time_rfc3339(0) == "1970-01-01T00:00:00Z");
    CHECK(vigil::ssh_time_rfc3339(1704067200) == "2024-01-01T00:00:00Z");
    CHECK(vigil::ssh_time_rfc3339(253402300799) == "9999-12-31T23:59:59Z");
    CHECK(vigil::ssh_time_rfc3339(253402300800) == "9999-12-31T23:59:59Z");
    CHECK(vigil::ssh_time_rfc3339(UINT64_MAX) == "9999-12-31T23:59:59Z");
}

TEST_CASE("ssh auth info: synthetic certificates parse like real ones") {
    // Guards the builder the refusal tests below rely on.
    CertSpec spec;
    spec.critical_options = Wire().str("force-command").str(Wire().str("id").s).s;
    spec.extensions = Wire().str("permit-pty").str("").s;
    auto info = parse_ssh_auth_info(spec.line());
    REQUIRE(info);
    const SshCertificate* c = info->first_certificate();
    REQUIRE(c != nullptr);
    CHECK(c->key_id == "id");
    CHECK(c->critical_options == Options{{"force-command", "id"}});
    CHECK(c->extensions == std::vector<std::string>{"permit-pty"});
}

TEST_CASE("ssh auth info: input limits") {
    std::string big = "gssapi-with-mic " + std::string(vigil::kSshAuthInfoMaxBytes, 'a');
    CHECK_THAT(error_of(big), Catch::Contains("limit"));

    std::string methods;
    for (int i = 0; i < 16; ++i) methods += "password\n";
    CHECK(parse_ssh_auth_info(methods));
    methods += "password\n";
    CHECK_THAT(error_of(methods), Catch::Contains("more than 16 methods"));

    CertSpec spec;
    spec.principals.assign(256, "p");
    CHECK(parse_ssh_auth_info(spec.line()));
    spec.principals.push_back("p");
    CHECK_THAT(error_of(spec.line()), Catch::Contains("more than 256 principals"));

    spec = CertSpec();
    spec.key_id = std::string(4096, 'i');
    CHECK(parse_ssh_auth_info(spec.line()));
    spec.key_id.push_back('i');
    CHECK_THAT(error_of(spec.line()), Catch::Contains("key id is 4097 bytes"));

    spec = CertSpec();
    spec.principals = {std::string(4097, 'p')};
    CHECK_THAT(error_of(spec.line()), Catch::Contains("principal is 4097 bytes"));
}

TEST_CASE("ssh auth info: malformed lines are refused with a reason") {
    std::string ecdsa_blob = split_key_line(kEcdsaPlain).blob;
    struct Case {
        std::string text;
        std::string why;
    };
    const std::vector<Case> cases = {
        {"\n", "line 1: empty line"},
        {"password\n\npassword\n", "line 2: empty line"},
        {"password \n", "trailing space"},
        {std::string("pass\x01word"), "control character"},
        {"password\r\n", "control character"},
        {"pa$$word\n", "invalid method name"},
        {"keyboard-interactive/\n", "invalid submethod"},
        {"gssapi-with-mic \xff\xfe\n", "UTF-8"},
        {"publickey\n", "publickey without a key"},
        {"publickey ssh-ed25519\n", "without a key"},
        {"publickey ssh-ed25519 \n", "empty base64"},
        {"publickey ssh/ed25519 AAAA\n", "invalid key type"},
        {"publickey ssh-ed25519 AAAA!AAA\n", "invalid base64 character at offset 4"},
        {"publickey ssh-ed25519 AAAAA\n", "not a multiple of 4"},
        {"publickey ssh-ed25519 AA=A\n", "invalid base64"},
        {"publickey ssh-ed25519 AAAA\n", "truncated at key type"},
        {"publickey ssh-ed25519 /////w==\n", "key type is 4294967295 bytes"},
        {key_line("ssh-ed25519", ecdsa_blob), "the line says ssh-ed25519 but the key is ecdsa-sha2-nistp256"},
        {key_line("ecdsa-sha2-nistp256", ecdsa_blob + "x"), "1 trailing bytes"},
        {key_line("ecdsa-sha2-nistp256", ecdsa_blob.substr(0, ecdsa_blob.size() - 1)), "truncated at ECDSA public key"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        CHECK_THAT(error_of(c.text), Catch::Contains(c.why));
    }
}

TEST_CASE("ssh auth info: malformed certificates are refused with a reason") {
    auto refuse = [](const CertSpec& spec, const std::string& why) {
        INFO(why);
        CHECK_THAT(error_of(spec.line()), Catch::Contains(why));
    };
    CertSpec s;
    s.trailing = "x";
    refuse(s, "1 trailing bytes");

    s = CertSpec();
    s.cert_type = 3;
    refuse(s, "certificate type 3 is neither user (1) nor host (2)");

    s = CertSpec();
    s.type = "ssh-xmss-cert-v01@openssh.com";
    refuse(s, "unsupported certificate type ssh-xmss-cert-v01@openssh.com");

    s = CertSpec();
    s.key_fields = Wire().str(std::string(31, 'k')).s;
    refuse(s, "Ed25519 public key is 31 bytes, not 32");

    s = CertSpec();
    s.type = "ecdsa-sha2-nistp256-cert-v01@openssh.com";
    s.key_fields = Wire().str("nistp384").str("\x04" + std::string(64, 'q')).s;
    refuse(s, "ECDSA curve does not match");

    s = CertSpec();
    s.type = "ecdsa-sha2-nistp256-cert-v01@openssh.com";
    s.key_fields = Wire().str("nistp256").str("\x02" + std::string(32, 'q')).s;
    refuse(s, "not an uncompressed nistp256 point");

    s = CertSpec();
    s.critical_options = Wire().str("force-command").str("").str("force-command").str("").s;
    refuse(s, "\"force-command\" appears twice");

    s = CertSpec();
    s.critical_options = Wire().str("force-command").str("/bin/true").s;  // not a string inside
    refuse(s, "critical option \"force-command\"");

    s = CertSpec();
    s.critical_options = Wire().str("source-address").str(Wire().str("10.0.0.0/8").s + "x").s;
    refuse(s, "critical option \"source-address\": 1 trailing bytes");

    s = CertSpec();
    s.extensions = Wire().str("").str("").s;
    refuse(s, "extensions: empty name");

    s = CertSpec();
    s.key_id = "\xc0\xaf";  // overlong '/'
    refuse(s, "key id is not valid UTF-8");

    s = CertSpec();
    s.principals = {std::string("ali\0ce", 6)};
    refuse(s, "principal contains NUL");

    s = CertSpec();
    s.ca_key = Wire().str(kEdType).s;
    refuse(s, "signed by a certificate");

    s = CertSpec();
    s.ca_key = Wire().str("ssh-ed25519").str("short").s;
    refuse(s, "signature key: Ed25519 public key is 5 bytes");

    s = CertSpec();
    s.signature = "";
    refuse(s, "empty signature");

    // A length that claims almost 4 GiB.
    std::string blob = CertSpec().blob();
    size_t key_id_at = blob.find("\x00\x00\x00\x02id", 0, 6);
    REQUIRE(key_id_at != std::string::npos);
    blob.replace(key_id_at, 4, "\xff\xff\xff\xff");
    CHECK_THAT(error_of(key_line(kEdType, blob)), Catch::Contains("key id is 4294967295 bytes"));
}

namespace {

// Every sample with a certificate, one line each.
std::vector<std::string_view> cert_lines() {
    return {kEdCert, kEcdsaCert, kRsaCert, kEcdsa384Cert, kEcdsa521HostCert, kSkEd25519Cert, kSkEcdsaCert};
}

// Parsing must end in a value or an error with a message, and a value must
// serialise: nlohmann::json throws on invalid UTF-8 while dumping.
void must_not_crash(std::string_view text) {
    auto r = parse_ssh_auth_info(text);
    if (r) {
        CHECK_NOTHROW(to_json(*r).dump());
    } else {
        CHECK_FALSE(r.error().message.empty());
    }
}

}  // namespace

TEST_CASE("ssh auth info: every truncation of a certificate is an error") {
    for (std::string_view line : cert_lines()) {
        KeyLine k = split_key_line(line);
        for (size_t len = 0; len < k.blob.size(); ++len) {
            auto r = parse_ssh_auth_info(key_line(k.type, k.blob.substr(0, len)));
            if (r) FAIL_CHECK(k.type << " truncated to " << len << " bytes parsed");
        }
        CHECK(parse_ssh_auth_info(key_line(k.type, k.blob)));
    }
}

TEST_CASE("ssh auth info: flipped bytes in a certificate never crash") {
    size_t parsed = 0, refused = 0;
    for (std::string_view line : cert_lines()) {
        KeyLine k = split_key_line(line);
        for (size_t i = 0; i < k.blob.size(); ++i) {
            for (unsigned char mask : {0x01, 0x80, 0xff}) {
                std::string blob = k.blob;
                blob[i] = static_cast<char>(static_cast<unsigned char>(blob[i]) ^ mask);
                auto r = parse_ssh_auth_info(key_line(k.type, blob));
                (r ? parsed : refused)++;
                must_not_crash(key_line(k.type, blob));
            }
        }
    }
    // Flips inside key material and the signature still parse (nothing here
    // verifies signatures); flips in lengths and names must not.
    CHECK(parsed > 0);
    CHECK(refused > 0);
}

TEST_CASE("ssh auth info: random damage to the text never crashes") {
    std::mt19937 rng(20261126);
    const std::string alphabet = std::string("AQ/+=\n \x00\xff\x7f-/@", 14);
    for (std::string_view sample : {kCertThenKey, kCertThenKbd, kSkEd25519Cert, kEcdsaPlain}) {
        for (int round = 0; round < 2000; ++round) {
            std::string text(sample);
            int edits = 1 + static_cast<int>(rng() % 4);
            for (int e = 0; e < edits && !text.empty(); ++e) {
                size_t at = rng() % text.size();
                switch (rng() % 3) {
                    case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
                    case 1: text.erase(at, 1 + rng() % 8); break;
                    default: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
                }
            }
            must_not_crash(text);
        }
    }
    // Lengths inside the blob set to extreme values.
    KeyLine k = split_key_line(kRsaCert);
    for (size_t i = 0; i + 4 <= k.blob.size(); ++i) {
        for (std::string_view len : {std::string_view("\xff\xff\xff\xff", 4), std::string_view("\x80\x00\x00\x00", 4),
                                     std::string_view("\x00\x00\x10\x01", 4)}) {
            std::string blob = k.blob;
            blob.replace(i, 4, len);
            must_not_crash(key_line(k.type, blob));
        }
    }
}

// ---------------------------------------------- the certificate's expiry ----

namespace {

// The CA [ssh] trusts: the one that signed auth_info's certificate, unless
// trust_ca is false.
std::string ssh_table(std::string_view auth_info, bool trust_ca) {
    auto info = parse_ssh_auth_info(auth_info);
    if (!trust_ca || !info || !info->first_certificate()) return "";
    return "[ssh]\ntrusted_ca_fingerprints = [\"" + info->first_certificate()->ca_fingerprint + "\"]\n";
}

vigil::DecisionRecord account_decision(std::string_view auth_info, const std::string& rule_extra = "",
                                       bool trust_ca = true) {
    auto engine = vigil::testing::engine_on(ssh_table(auth_info, trust_ca) +
                                            "[[rule]]\nname = \"root may\"\nservices = [\"sshd\"]\nusers = [\"root\"]\n"
                                            "decision = \"allow\"\n" +
                                            rule_extra);
    vigil::Request q;
    q.phase = vigil::Phase::Account;
    q.user = "root";
    q.service = "sshd";
    q.ssh_auth_info = std::string(auth_info);
    return engine->decide(q);
}

}  // namespace

TEST_CASE("ssh auth info: a login's session_max is capped by its certificate's expiry", "[sessions]") {
    // Valid until 2035-01-01: the cap is the time left until then.
    auto r = account_decision(kSkEd25519Cert);
    REQUIRE(r.decision.outcome == vigil::Outcome::Allow);
    REQUIRE(r.decision.session_max);
    auto until = std::chrono::system_clock::time_point(std::chrono::seconds(2051222400));
    auto left = std::chrono::duration_cast<std::chrono::seconds>(until - std::chrono::system_clock::now());
    CHECK(std::chrono::abs(*r.decision.session_max - left) < std::chrono::seconds(5));
    // A shorter session_max of the rule stays.
    CHECK(account_decision(kSkEd25519Cert, "session_max = \"8h\"\n").decision.session_max == std::chrono::hours(8));
    // A certificate valid forever caps nothing; no certificate neither.
    CHECK_FALSE(account_decision(kEcdsa384Cert).decision.session_max);
    CHECK_FALSE(account_decision("").decision.session_max);
    // Past its valid_before (2024-02-01): denied, whatever the rules say.
    auto old = account_decision(kEcdsa521HostCert);
    CHECK(old.decision.outcome == vigil::Outcome::Deny);
    CHECK_THAT(old.decision.reason_user, Catch::Contains("certificate has expired"));
}

TEST_CASE("ssh auth info: a certificate from a CA [ssh] does not trust adds nothing", "[sessions]") {
    // Signed by a CA the user may have named in their own authorized_keys.
    auto r = account_decision(kSkEd25519Cert, "", false);
    REQUIRE(r.decision.outcome == vigil::Outcome::Allow);
    CHECK_FALSE(r.decision.session_max);
    CHECK(r.ssh_certificate.is_null());
    auto trail = vigil::testing::trail_json(r);
    CHECK_FALSE(trail.contains("ssh_certificate"));
    REQUIRE(trail.contains("ssh_certificate_untrusted"));
    CHECK(trail["ssh_certificate_untrusted"]["certificates"][0]["key_id"] ==
          parse_ssh_auth_info(kSkEd25519Cert)->first_certificate()->key_id);
    // Trusted: the same certificate is the subject's.
    auto t = account_decision(kSkEd25519Cert);
    CHECK(t.ssh_certificate.is_object());
    CHECK_FALSE(vigil::testing::trail_json(t).contains("ssh_certificate_untrusted"));
    // An expired certificate from an untrusted CA is no more than a key:
    // sshd judged it at login.
    CHECK(account_decision(kEcdsa521HostCert, "", false).decision.outcome == vigil::Outcome::Allow);
}
