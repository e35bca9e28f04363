//! Bandit's tests, one module per Bandit plugin or blacklist table, and the dispatch by node
//! type (`@checks('Call')`, `'Str'`, `'FunctionDef'`, …).

pub mod app_debug;
pub mod asserts;
pub mod bind_all_interfaces;
pub mod blacklist_calls;
pub mod blacklist_imports;
pub mod cert_validation;
pub mod django_sql;
pub mod django_xss;
pub mod exec;
pub mod file_permissions;
pub mod hardcoded_password;
pub mod hardcoded_tmp;
pub mod hashlib;
pub mod huggingface;
pub mod jinja2;
pub mod logging_listen;
pub mod mako;
pub mod markupsafe;
pub mod paramiko;
pub mod pytorch;
pub mod request_timeout;
pub mod shell;
pub mod snmp;
pub mod sql;
pub mod ssh_host_key;
pub mod ssl_tls;
pub mod tarfile;
pub mod trojansource;
pub mod try_except;
pub mod weak_key;
pub mod wildcard;
pub mod yaml_load;

use crate::Map as HashMap;
use ruff_python_ast as ast;

use super::helpers::{CallCtx, Issue};
use super::visitor::StrCtx;

type CallTest = fn(&CallCtx) -> Option<Issue>;

/// Call tests in the order Bandit runs them.
const CALL_TESTS: &[CallTest] = &[
    exec::check,
    file_permissions::check,
    hardcoded_password::check_funcarg,
    request_timeout::check,
    app_debug::check,
    tarfile::check,
    blacklist_calls::check,
    hashlib::check,
    cert_validation::check,
    ssl_tls::check_bad_version,
    ssl_tls::check_no_version,
    weak_key::check,
    yaml_load::check,
    ssh_host_key::check,
    snmp::check_version,
    snmp::check_crypto,
    paramiko::check,
    shell::check_popen_shell,
    shell::check_without_shell,
    shell::check_other_shell,
    shell::check_start_shell,
    shell::check_no_shell,
    shell::check_partial_path,
    wildcard::check,
    django_sql::check_extra,
    django_sql::check_rawsql,
    logging_listen::check,
    pytorch::check,
    huggingface::check,
    jinja2::check,
    mako::check,
    django_xss::check,
    markupsafe::check,
];

pub fn run_call_tests(ctx: &CallCtx) -> Vec<Issue> {
    CALL_TESTS.iter().filter_map(|t| t(ctx)).collect()
}

pub fn run_str_tests(ctx: &StrCtx) -> Vec<Issue> {
    [
        bind_all_interfaces::check,
        hardcoded_password::check_string,
        hardcoded_tmp::check,
        sql::check,
    ]
    .iter()
    .filter_map(|t| t(ctx))
    .collect()
}

pub fn run_function_tests(
    f: &ast::StmtFunctionDef,
    aliases: &HashMap<String, String>,
) -> Vec<Issue> {
    [
        hardcoded_password::check_default(f),
        ssl_tls::check_bad_defaults(f, aliases),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every test Bandit runs by default: (id, test name).
pub const TEST_NAMES: &[(&str, &str)] = &[
    ("B101", "assert_used"),
    ("B102", "exec_used"),
    ("B103", "set_bad_file_permissions"),
    ("B104", "hardcoded_bind_all_interfaces"),
    ("B105", "hardcoded_password_string"),
    ("B106", "hardcoded_password_funcarg"),
    ("B107", "hardcoded_password_default"),
    ("B108", "hardcoded_tmp_directory"),
    ("B110", "try_except_pass"),
    ("B112", "try_except_continue"),
    ("B113", "request_without_timeout"),
    ("B201", "flask_debug_true"),
    ("B202", "tarfile_unsafe_members"),
    ("B301", "pickle"),
    ("B302", "marshal"),
    ("B303", "md5"),
    ("B304", "ciphers"),
    ("B305", "cipher_modes"),
    ("B306", "mktemp_q"),
    ("B307", "eval"),
    ("B308", "mark_safe"),
    ("B310", "urllib_urlopen"),
    ("B311", "random"),
    ("B312", "telnetlib"),
    ("B313", "xml_bad_cElementTree"),
    ("B314", "xml_bad_ElementTree"),
    ("B315", "xml_bad_expatreader"),
    ("B316", "xml_bad_expatbuilder"),
    ("B317", "xml_bad_sax"),
    ("B318", "xml_bad_minidom"),
    ("B319", "xml_bad_pulldom"),
    ("B321", "ftplib"),
    ("B323", "unverified_context"),
    ("B324", "hashlib_insecure_functions"),
    ("B401", "import_telnetlib"),
    ("B402", "import_ftplib"),
    ("B403", "import_pickle"),
    ("B404", "import_subprocess"),
    ("B405", "import_xml_etree"),
    ("B406", "import_xml_sax"),
    ("B407", "import_xml_expat"),
    ("B408", "import_xml_minidom"),
    ("B409", "import_xml_pulldom"),
    ("B411", "import_xmlrpclib"),
    ("B412", "import_httpoxy"),
    ("B413", "import_pycrypto"),
    ("B415", "import_pyghmi"),
    ("B501", "request_with_no_cert_validation"),
    ("B502", "ssl_with_bad_version"),
    ("B503", "ssl_with_bad_defaults"),
    ("B504", "ssl_with_no_version"),
    ("B505", "weak_cryptographic_key"),
    ("B506", "yaml_load"),
    ("B507", "ssh_no_host_key_verification"),
    ("B508", "snmp_insecure_version"),
    ("B509", "snmp_weak_cryptography"),
    ("B601", "paramiko_calls"),
    ("B602", "subprocess_popen_with_shell_equals_true"),
    ("B603", "subprocess_without_shell_equals_true"),
    ("B604", "any_other_function_with_shell_equals_true"),
    ("B605", "start_process_with_a_shell"),
    ("B606", "start_process_with_no_shell"),
    ("B607", "start_process_with_partial_path"),
    ("B608", "hardcoded_sql_expressions"),
    ("B609", "linux_commands_wildcard_injection"),
    ("B610", "django_extra_used"),
    ("B611", "django_rawsql_used"),
    ("B612", "logging_config_insecure_listen"),
    ("B613", "trojansource"),
    ("B614", "pytorch_load"),
    ("B615", "huggingface_unsafe_download"),
    ("B701", "jinja2_autoescape_false"),
    ("B702", "use_of_mako_templates"),
    ("B703", "django_mark_safe"),
    ("B704", "markupsafe_markup_xss"),
];
