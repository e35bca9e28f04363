//! B508 snmp_insecure_version and B509 snmp_weak_cryptography.
use crate::bandit::helpers::{CallCtx, High, Issue, Lit, Medium};

pub fn check_version(c: &CallCtx) -> Option<Issue> {
    if c.qual == "pysnmp.hlapi.CommunityData"
        && (c.check_kw("mpModel", &[Lit::Int(0)]) == Some(true)
            || c.check_kw("mpModel", &[Lit::Int(1)]) == Some(true))
    {
        return Some(
            Issue::new(
                "B508",
                "snmp_insecure_version_check",
                Medium,
                High,
                319,
                "The use of SNMPv1 and SNMPv2 is insecure. You should use SNMPv3 if able.",
            )
            .at(c.kw_line("CommunityData")),
        );
    }
    None
}

pub fn check_crypto(c: &CallCtx) -> Option<Issue> {
    if c.qual == "pysnmp.hlapi.UsmUserData" && c.args().len() < 3 {
        return Some(
            Issue::new(
                "B509",
                "snmp_crypto_check",
                Medium,
                High,
                319,
                "You should not use SNMPv3 without encryption. noAuthNoPriv & authNoPriv is insecure",
            )
            .at(c.kw_line("UsmUserData")),
        );
    }
    None
}
