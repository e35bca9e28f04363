//! Bandit's call blacklist (B301–B323), plus the import blacklist applied to `__import__` and
//! `importlib.import_module` calls.
use ruff_python_ast::Expr;

use crate::bandit::helpers::{CallCtx, High, Issue, Level, Lit, Low, Medium};
use crate::bandit::tests::blacklist_imports;

pub struct Entry {
    pub id: &'static str,
    pub name: &'static str,
    pub level: Level,
    pub cwe: u32,
    pub message: &'static str,
    pub qualnames: &'static [&'static str],
}

const XML_MSG: &str = "Using {name} to parse untrusted XML data is known to be vulnerable to XML attacks. Replace {name} with its defusedxml equivalent function or make sure defusedxml.defuse_stdlib() is called";

pub const CALLS: &[Entry] = &[
    Entry {
        id: "B301",
        name: "pickle",
        level: Medium,
        cwe: 502,
        message: "Pickle and modules that wrap it can be unsafe when used to deserialize untrusted data, possible security issue.",
        qualnames: &[
            "pickle.loads",
            "pickle.load",
            "pickle.Unpickler",
            "dill.loads",
            "dill.load",
            "dill.Unpickler",
            "shelve.open",
            "shelve.DbfilenameShelf",
            "jsonpickle.decode",
            "jsonpickle.unpickler.decode",
            "jsonpickle.unpickler.Unpickler",
            "pandas.read_pickle",
        ],
    },
    Entry {
        id: "B302",
        name: "marshal",
        level: Medium,
        cwe: 502,
        message: "Deserialization with the marshal module is possibly dangerous.",
        qualnames: &["marshal.load", "marshal.loads"],
    },
    Entry {
        id: "B303",
        name: "md5",
        level: Medium,
        cwe: 327,
        message: "Use of insecure MD2, MD4, MD5, or SHA1 hash function.",
        qualnames: &[
            "Crypto.Hash.MD2.new",
            "Crypto.Hash.MD4.new",
            "Crypto.Hash.MD5.new",
            "Crypto.Hash.SHA.new",
            "Cryptodome.Hash.MD2.new",
            "Cryptodome.Hash.MD4.new",
            "Cryptodome.Hash.MD5.new",
            "Cryptodome.Hash.SHA.new",
            "cryptography.hazmat.primitives.hashes.MD5",
            "cryptography.hazmat.primitives.hashes.SHA1",
        ],
    },
    Entry {
        id: "B304",
        name: "ciphers",
        level: High,
        cwe: 327,
        message: "Use of insecure cipher {name}. Replace with a known secure cipher such as AES.",
        qualnames: &[
            "Crypto.Cipher.ARC2.new",
            "Crypto.Cipher.ARC4.new",
            "Crypto.Cipher.Blowfish.new",
            "Crypto.Cipher.DES.new",
            "Crypto.Cipher.XOR.new",
            "Cryptodome.Cipher.ARC2.new",
            "Cryptodome.Cipher.ARC4.new",
            "Cryptodome.Cipher.Blowfish.new",
            "Cryptodome.Cipher.DES.new",
            "Cryptodome.Cipher.XOR.new",
            "cryptography.hazmat.primitives.ciphers.algorithms.ARC4",
            "cryptography.hazmat.primitives.ciphers.algorithms.Blowfish",
            "cryptography.hazmat.primitives.ciphers.algorithms.CAST5",
            "cryptography.hazmat.primitives.ciphers.algorithms.IDEA",
            "cryptography.hazmat.primitives.ciphers.algorithms.SEED",
            "cryptography.hazmat.primitives.ciphers.algorithms.TripleDES",
        ],
    },
    Entry {
        id: "B305",
        name: "cipher_modes",
        level: Medium,
        cwe: 327,
        message: "Use of insecure cipher mode {name}.",
        qualnames: &["cryptography.hazmat.primitives.ciphers.modes.ECB"],
    },
    Entry {
        id: "B306",
        name: "mktemp_q",
        level: Medium,
        cwe: 377,
        message: "Use of insecure and deprecated function (mktemp).",
        qualnames: &["tempfile.mktemp"],
    },
    Entry {
        id: "B307",
        name: "eval",
        level: Medium,
        cwe: 78,
        message: "Use of possibly insecure function - consider using safer ast.literal_eval.",
        qualnames: &["eval"],
    },
    Entry {
        id: "B308",
        name: "mark_safe",
        level: Medium,
        cwe: 79,
        message: "Use of mark_safe() may expose cross-site scripting vulnerabilities and should be reviewed.",
        qualnames: &["django.utils.safestring.mark_safe"],
    },
    Entry {
        id: "B310",
        name: "urllib_urlopen",
        level: Medium,
        cwe: 22,
        message: "Audit url open for permitted schemes. Allowing use of file:/ or custom schemes is often unexpected.",
        qualnames: &[
            "urllib.request.urlopen",
            "urllib.request.urlretrieve",
            "urllib.request.URLopener",
            "urllib.request.FancyURLopener",
            "six.moves.urllib.request.urlopen",
            "six.moves.urllib.request.urlretrieve",
            "six.moves.urllib.request.URLopener",
            "six.moves.urllib.request.FancyURLopener",
        ],
    },
    Entry {
        id: "B311",
        name: "random",
        level: Low,
        cwe: 330,
        message: "Standard pseudo-random generators are not suitable for security/cryptographic purposes.",
        qualnames: &[
            "random.Random",
            "random.random",
            "random.randrange",
            "random.randint",
            "random.choice",
            "random.choices",
            "random.uniform",
            "random.triangular",
            "random.randbytes",
            "random.sample",
            "random.randrange",
            "random.getrandbits",
        ],
    },
    Entry {
        id: "B312",
        name: "telnetlib",
        level: High,
        cwe: 319,
        message: "Telnet-related functions are being called. Telnet is considered insecure. Use SSH or some other encrypted protocol.",
        qualnames: &["telnetlib.Telnet"],
    },
    Entry {
        id: "B313",
        name: "xml_bad_cElementTree",
        level: Medium,
        cwe: 20,
        message: XML_MSG,
        qualnames: &[
            "xml.etree.cElementTree.parse",
            "xml.etree.cElementTree.iterparse",
            "xml.etree.cElementTree.fromstring",
            "xml.etree.cElementTree.XMLParser",
        ],
    },
    Entry {
        id: "B314",
        name: "xml_bad_ElementTree",
        level: Medium,
        cwe: 20,
        message: XML_MSG,
        qualnames: &[
            "xml.etree.ElementTree.parse",
            "xml.etree.ElementTree.iterparse",
            "xml.etree.ElementTree.fromstring",
            "xml.etree.ElementTree.XMLParser",
        ],
    },
    Entry {
        id: "B315",
        name: "xml_bad_expatreader",
        level: Medium,
        cwe: 20,
        message: XML_MSG,
        qualnames: &["xml.sax.expatreader.create_parser"],
    },
    Entry {
        id: "B316",
        name: "xml_bad_expatbuilder",
        level: Medium,
        cwe: 20,
        message: XML_MSG,
        qualnames: &[
            "xml.dom.expatbuilder.parse",
            "xml.dom.expatbuilder.parseString",
        ],
    },
    Entry {
        id: "B317",
        name: "xml_bad_sax",
        level: Medium,
        cwe: 20,
        message: XML_MSG,
        qualnames: &[
            "xml.sax.parse",
            "xml.sax.parseString",
            "xml.sax.make_parser",
        ],
    },
    Entry {
        id: "B318",
        name: "xml_bad_minidom",
        level: Medium,
        cwe: 20,
        message: XML_MSG,
        qualnames: &["xml.dom.minidom.parse", "xml.dom.minidom.parseString"],
    },
    Entry {
        id: "B319",
        name: "xml_bad_pulldom",
        level: Medium,
        cwe: 20,
        message: XML_MSG,
        qualnames: &["xml.dom.pulldom.parse", "xml.dom.pulldom.parseString"],
    },
    Entry {
        id: "B321",
        name: "ftplib",
        level: High,
        cwe: 319,
        message: "FTP-related functions are being called. FTP is considered insecure. Use SSH/SFTP/SCP or some other encrypted protocol.",
        qualnames: &["ftplib.FTP"],
    },
    Entry {
        id: "B323",
        name: "unverified_context",
        level: Medium,
        cwe: 295,
        message: "By default, Python will create a secure, verified ssl context for use in such classes as HTTPSConnection. However, it still allows using an insecure context via the _create_unverified_context that  reverts to the previous behavior that does not validate certificates or perform hostname checks.",
        qualnames: &["ssl._create_unverified_context"],
    },
];

pub fn report(e: &Entry, name: &str) -> Issue {
    Issue::new(
        e.id,
        "blacklist",
        e.level,
        High,
        e.cwe,
        e.message.replace("{name}", name),
    )
}

pub fn check(c: &CallCtx) -> Option<Issue> {
    let name: Option<String> = match c.node.func.as_ref() {
        Expr::Name(n) if n.id.as_str() == "__import__" => Some(match c.args().first() {
            Some(Expr::StringLiteral(s)) => s.value.to_str().to_string(),
            Some(_) => "UNKNOWN".into(),
            None => String::new(),
        }),
        _ => {
            if c.qual == "importlib.import_module" || c.qual == "importlib.__import__" {
                if !c.args().is_empty() {
                    match c.call_args().into_iter().next() {
                        Some(Lit::Str(s)) => Some(s),
                        _ => None,
                    }
                } else {
                    match c.kw_value("name") {
                        Some(Lit::Str(s)) => Some(s),
                        _ => None,
                    }
                }
            } else {
                Some(c.qual.clone())
            }
        }
    };
    let name = name?;
    BY_QUALNAME.get(name.as_str()).map(|e| report(e, &name))
}

/// Qualified name to its first entry, calls before imports (Bandit's search order).
static BY_QUALNAME: std::sync::LazyLock<crate::Map<&'static str, &'static Entry>> =
    std::sync::LazyLock::new(|| {
        let mut map = crate::Map::default();
        for e in CALLS.iter().chain(blacklist_imports::IMPORTS.iter()) {
            for q in e.qualnames {
                map.entry(*q).or_insert(e);
            }
        }
        map
    });
