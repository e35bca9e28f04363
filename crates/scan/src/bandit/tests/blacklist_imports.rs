//! Bandit's import blacklist (B401–B415).
use ruff_python_ast::Stmt;

use crate::bandit::helpers::Issue;
use crate::bandit::helpers::{High, Low};
use crate::bandit::tests::blacklist_calls::{Entry, report};

const XML_MSG: &str = "Using {name} to parse untrusted XML data is known to be vulnerable to XML attacks. Replace {name} with the equivalent defusedxml package, or make sure defusedxml.defuse_stdlib() is called.";

pub const IMPORTS: &[Entry] = &[
    Entry {
        id: "B401",
        name: "import_telnetlib",
        level: High,
        cwe: 319,
        message: "A telnet-related module is being imported.  Telnet is considered insecure. Use SSH or some other encrypted protocol.",
        qualnames: &["telnetlib"],
    },
    Entry {
        id: "B402",
        name: "import_ftplib",
        level: High,
        cwe: 319,
        message: "A FTP-related module is being imported.  FTP is considered insecure. Use SSH/SFTP/SCP or some other encrypted protocol.",
        qualnames: &["ftplib"],
    },
    Entry {
        id: "B403",
        name: "import_pickle",
        level: Low,
        cwe: 502,
        message: "Consider possible security implications associated with {name} module.",
        qualnames: &["pickle", "cPickle", "dill", "shelve"],
    },
    Entry {
        id: "B404",
        name: "import_subprocess",
        level: Low,
        cwe: 78,
        message: "Consider possible security implications associated with the subprocess module.",
        qualnames: &["subprocess"],
    },
    Entry {
        id: "B405",
        name: "import_xml_etree",
        level: Low,
        cwe: 20,
        message: XML_MSG,
        qualnames: &["xml.etree.cElementTree", "xml.etree.ElementTree"],
    },
    Entry {
        id: "B406",
        name: "import_xml_sax",
        level: Low,
        cwe: 20,
        message: XML_MSG,
        qualnames: &["xml.sax"],
    },
    Entry {
        id: "B407",
        name: "import_xml_expat",
        level: Low,
        cwe: 20,
        message: XML_MSG,
        qualnames: &["xml.dom.expatbuilder"],
    },
    Entry {
        id: "B408",
        name: "import_xml_minidom",
        level: Low,
        cwe: 20,
        message: XML_MSG,
        qualnames: &["xml.dom.minidom"],
    },
    Entry {
        id: "B409",
        name: "import_xml_pulldom",
        level: Low,
        cwe: 20,
        message: XML_MSG,
        qualnames: &["xml.dom.pulldom"],
    },
    Entry {
        id: "B411",
        name: "import_xmlrpclib",
        level: High,
        cwe: 20,
        message: "Using {name} to parse untrusted XML data is known to be vulnerable to XML attacks. Use defusedxml.xmlrpc.monkey_patch() function to monkey-patch xmlrpclib and mitigate XML vulnerabilities.",
        qualnames: &["xmlrpc"],
    },
    Entry {
        id: "B412",
        name: "import_httpoxy",
        level: High,
        cwe: 284,
        message: "Consider possible security implications associated with {name} module.",
        qualnames: &[
            "wsgiref.handlers.CGIHandler",
            "twisted.web.twcgi.CGIScript",
            "twisted.web.twcgi.CGIDirectory",
        ],
    },
    Entry {
        id: "B413",
        name: "import_pycrypto",
        level: High,
        cwe: 327,
        message: "The pyCrypto library and its module {name} are no longer actively maintained and have been deprecated. Consider using pyca/cryptography library.",
        qualnames: &[
            "Crypto.Cipher",
            "Crypto.Hash",
            "Crypto.IO",
            "Crypto.Protocol",
            "Crypto.PublicKey",
            "Crypto.Random",
            "Crypto.Signature",
            "Crypto.Util",
        ],
    },
    Entry {
        id: "B415",
        name: "import_pyghmi",
        level: High,
        cwe: 319,
        message: "An IPMI-related module is being imported. IPMI is considered insecure. Use an encrypted protocol.",
        qualnames: &["pyghmi"],
    },
];

/// The blacklist test on an `import` / `from … import` statement: one issue at most, for the
/// first table entry any imported name starts with.
pub fn check_import(stmt: &Stmt) -> Option<Issue> {
    let (prefix, names) = match stmt {
        Stmt::Import(i) => (String::new(), &i.names),
        Stmt::ImportFrom(i) => (
            i.module
                .as_ref()
                .map(|m| format!("{}.", m.id))
                .unwrap_or_default(),
            &i.names,
        ),
        _ => return None,
    };
    // Each imported name in full, made once rather than once per table entry.
    let fulls: Vec<(String, &str)> = names
        .iter()
        .map(|alias| (format!("{prefix}{}", alias.name.id), alias.name.id.as_str()))
        .collect();
    for e in IMPORTS {
        for (full, name) in &fulls {
            if e.qualnames.iter().any(|q| full.starts_with(q)) {
                return Some(report(e, name));
            }
        }
    }
    None
}
