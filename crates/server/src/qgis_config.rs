//! What an admin deploys so that QGIS uses this repository and not the official one: the QGIS
//! global settings entries (INI, as QSettings writes them) and a PyQGIS snippet for one
//! machine. QGIS merges same-named plugins across enabled repositories, so the official one
//! must be disabled or it can override the vetted copy.

/// The official repository's entry name in an English QGIS. QGIS translates this name
/// (`QCoreApplication.translate("QgsPluginInstaller", …)`), so the INI covers this name and the
/// PyQGIS snippet asks the running QGIS for its own translation.
pub const OFFICIAL_NAME: &str = "QGIS Official Plugin Repository";
pub const OFFICIAL_URL: &str = "https://plugins.qgis.org/plugins/plugins.xml";

/// QSettings' INI key escaping: `/` separates groups (written `\`), letters, digits, `_`, `-`
/// and `.` stay, anything else is `%XX` (or `%UXXXX`).
fn ini_key(path: &str) -> String {
    let mut out = String::new();
    for c in path.chars() {
        match c {
            '/' => out.push('\\'),
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' | '.' => out.push(c),
            c if (c as u32) < 256 => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push_str(&format!("%U{:04X}", c as u32)),
        }
    }
    out
}

pub struct QgisConfig {
    /// The entry name of this repository in QGIS.
    pub name: String,
    /// This repository's public base URL (without trailing slash).
    pub base_url: String,
    /// A QGIS authentication configuration id for the repository, if it needs one.
    pub authcfg: String,
}

impl QgisConfig {
    /// QGIS adds `?qgis=X.Y` itself.
    pub fn feed_url(&self) -> String {
        format!(
            "{}/plugins/plugins.xml",
            self.base_url.trim_end_matches('/')
        )
    }

    /// The `[app]` section of a QGIS global settings file (`qgis_global_settings.ini`).
    pub fn ini(&self) -> String {
        let repo = |key: &str| ini_key(&format!("plugin_repositories/{}/{key}", self.name));
        let official = |key: &str| ini_key(&format!("plugin_repositories/{OFFICIAL_NAME}/{key}"));
        let mut s = String::new();
        s.push_str(
            "; QGIS global settings: use this Vetted repository, disable the official one.\n",
        );
        s.push_str(
            "; Deploy as the file named by the QGIS_GLOBAL_SETTINGS_FILE environment variable,\n",
        );
        s.push_str(
            "; or as qgis_global_settings.ini in QGIS's resources folder (all profiles), or\n",
        );
        s.push_str("; merge the [app] keys into a profile's QGIS/QGIS3.ini (one profile).\n");
        s.push_str(
            "; Global settings are defaults: a user's own profile settings take precedence.\n",
        );
        s.push_str("[app]\n");
        s.push_str(&format!("{}={}\n", repo("url"), self.feed_url()));
        s.push_str(&format!("{}=true\n", repo("enabled")));
        s.push_str(&format!("{}={}\n", repo("authcfg"), self.authcfg));
        s.push_str(&format!("{}={OFFICIAL_URL}\n", official("url")));
        s.push_str(&format!("{}=false\n", official("enabled")));
        s.push_str(&format!(
            "{}=false\n",
            ini_key("plugin_installer/checkOnStart")
        ));
        s
    }

    /// A snippet to paste into QGIS's Python console on one machine.
    pub fn pyqgis(&self) -> String {
        let q = |s: &str| format!("{s:?}");
        format!(
            r#"# Paste into QGIS > Plugins > Python Console, then restart QGIS.
from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QCoreApplication
s = QgsSettings()
official = QCoreApplication.translate("QgsPluginInstaller", {official_name})
s.setValue("app/plugin_repositories/" + official + "/url", {official_url})
s.setValue("app/plugin_repositories/" + official + "/enabled", False)
s.beginGroup("app/plugin_repositories")
for key in s.childGroups():
    if "plugins.qgis.org" in str(s.value(key + "/url", "")):
        s.setValue(key + "/enabled", False)
s.endGroup()
s.setValue("app/plugin_repositories/" + {name} + "/url", {url})
s.setValue("app/plugin_repositories/" + {name} + "/enabled", True)
s.setValue("app/plugin_repositories/" + {name} + "/authcfg", {authcfg})
s.setValue("app/plugin_installer/checkOnStart", False)
"#,
            official_name = q(OFFICIAL_NAME),
            official_url = q(OFFICIAL_URL),
            name = q(&self.name),
            url = q(&self.feed_url()),
            authcfg = q(&self.authcfg),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_escaped_like_qsettings() {
        assert_eq!(
            ini_key("plugin_repositories/QGIS Official Plugin Repository/enabled"),
            "plugin_repositories\\QGIS%20Official%20Plugin%20Repository\\enabled"
        );
        assert_eq!(ini_key("a/é"), "a\\%E9");
    }
}
