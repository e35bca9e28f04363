//! The parts of a Vetted deployment as real processes, for `multihost.rs`: network namespaces
//! joined by veth pairs on one bridge (the test's "hosts"), a PostgreSQL cluster of the test's
//! own and moto's S3 server on one of them, `vetted serve --no-worker` and `vetted worker`
//! processes on the others; or the single-process default (one `vetted serve`, SQLite, local
//! files). Everything the test creates carries this run's id and is removed when dropped, also
//! when the test panics; names left by a run that was killed are removed by the next one.
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const VETTED: &str = env!("CARGO_BIN_EXE_vetted");

/// Runs a command that must succeed (set-up steps); panics with its output otherwise.
pub fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a command whose failure is only worth a line (clean-up).
fn run_quietly(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Sends `signal` (KILL, TERM, INT, STOP, CONT) to a process.
pub fn signal(pid: u32, signal: &str) {
    run("kill", &[&format!("-{signal}"), &pid.to_string()]);
}

/// A child process: SIGKILLed and reaped when dropped, so a failing test leaves nothing behind.
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Proc {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = cmd
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Proc {
            child,
            name: name.to_string(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, sig: &str) {
        signal(self.pid(), sig);
    }

    /// Waits up to `limit` for the process to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A SIGSTOPped process is still killed by SIGKILL.
        self.kill();
    }
}

/// Fails the test (never skips it) when the machine cannot build namespaces.
pub fn require_root_and_ip() {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next().map(str::to_string))
        })
        .unwrap_or_default();
    assert_eq!(
        uid, "0",
        "the multi-host test builds network namespaces (`ip netns`) and must run as root \
         (it does on CI); run it with sudo or in a root container"
    );
    assert!(
        Command::new("ip")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success()),
        "the multi-host test needs the `ip` command (Debian: apt-get install iproute2)"
    );
}

/// A private network: one bridge in the root namespace (the test's own address, `.1`) and one
/// namespace per host, each joined to the bridge by a veth pair.
pub struct Net {
    id: String,
    bridge: String,
    pub subnet: [u8; 3],
    namespaces: Vec<String>,
}

const NS_PREFIX: &str = "vetted-mh-";

impl Net {
    /// Creates the bridge for this run; `host` adds the namespaces.
    pub fn new() -> Net {
        remove_stale();
        let pid = std::process::id();
        let id = format!("{pid:x}");
        let subnet = free_subnet(pid);
        let bridge = format!("vm{id}br");
        assert!(bridge.len() <= 15, "interface name {bridge} too long");
        let net = Net {
            id,
            bridge: bridge.clone(),
            subnet,
            namespaces: Vec::new(),
        };
        run("ip", &["link", "add", &bridge, "type", "bridge"]);
        run(
            "ip",
            &[
                "addr",
                "add",
                &format!("{}/24", net.addr(1)),
                "dev",
                &bridge,
            ],
        );
        run("ip", &["link", "set", &bridge, "up"]);
        net
    }

    pub fn addr(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(self.subnet[0], self.subnet[1], self.subnet[2], host)
    }

    /// A namespace `<name>` with address `.host` on the bridge; returns the namespace's name.
    pub fn host(&mut self, name: &str, host: u8) -> String {
        let ns = format!("{NS_PREFIX}{}-{name}", std::process::id());
        let outside = format!("vm{}h{host}", self.id);
        let inside = format!("vm{}n{host}", self.id);
        assert!(outside.len() <= 15 && inside.len() <= 15);
        run("ip", &["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        run(
            "ip",
            &[
                "link", "add", &outside, "type", "veth", "peer", "name", &inside,
            ],
        );
        run("ip", &["link", "set", &inside, "netns", &ns]);
        run("ip", &["link", "set", &outside, "master", &self.bridge]);
        run("ip", &["link", "set", &outside, "up"]);
        let cidr = format!("{}/24", self.addr(host));
        run("ip", &["-n", &ns, "addr", "add", &cidr, "dev", &inside]);
        run("ip", &["-n", &ns, "link", "set", &inside, "up"]);
        run("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// The bridge-side end of a host's link, to take it down and up.
    pub fn link_of(&self, host: u8) -> String {
        format!("vm{}h{host}", self.id)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it, and with it the pair.
        for ns in &self.namespaces {
            if !run_quietly("ip", &["netns", "del", ns]) {
                eprintln!("could not remove network namespace {ns}");
            }
        }
        if !run_quietly("ip", &["link", "del", &self.bridge]) {
            eprintln!("could not remove bridge {}", self.bridge);
        }
    }
}

/// A /24 in 10.0.0.0/8 that no interface or route of this machine uses.
fn free_subnet(pid: u32) -> [u8; 3] {
    let used = {
        let a = Command::new("ip").args(["-4", "-o", "addr"]).output();
        let r = Command::new("ip").args(["-4", "route"]).output();
        let mut s = String::new();
        for o in [a, r].into_iter().flatten() {
            s.push_str(&String::from_utf8_lossy(&o.stdout));
        }
        s
    };
    let mut n = pid;
    for _ in 0..1000 {
        let subnet = [10, 150 + (n >> 8 & 0x3f) as u8, (n & 0xff) as u8];
        let prefix = format!(" 10.{}.{}.", subnet[1], subnet[2]);
        if !used.contains(&prefix[1..]) {
            return subnet;
        }
        n = n.wrapping_mul(2654435761).wrapping_add(1);
    }
    panic!("no free 10.x.y.0/24 for the test network");
}

/// Namespaces and bridges left by runs whose process is gone (killed before its clean-up).
fn remove_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("removing network namespace {name} left by a run that was killed");
            run_quietly("ip", &["netns", "del", &name]);
            run_quietly("ip", &["link", "del", &format!("vm{pid:x}br")]);
        }
    }
}

/// A command run inside namespace `ns` (or directly without one).
pub fn in_ns(ns: Option<&str>, program: &str) -> Command {
    match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, program]);
            c
        }
        None => Command::new(program),
    }
}

/// A PostgreSQL cluster of the test's own, run as the `postgres` user (the server refuses
/// root), listening on one address with trust authentication.
pub struct Postgres {
    bin: PathBuf,
    pub proc: Option<Proc>,
    ns: String,
    data: PathBuf,
    sockets: PathBuf,
    addr: Ipv4Addr,
    log: PathBuf,
}

/// The newest installed PostgreSQL server (Debian's layout: /usr/lib/postgresql/N/bin).
fn pg_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((n, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b).unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server in /usr/lib/postgresql/*/bin: the multi-host test starts its \
             own cluster (Debian: apt-get install postgresql; scripts/setup-server-test does)"
        )
    })
}

impl Postgres {
    pub fn init(ns: &str, addr: Ipv4Addr, dir: &Path) -> Postgres {
        let pg_bin = pg_bin();
        let root = dir.join("pg");
        let data = root.join("data");
        let sockets = root.join("sockets");
        std::fs::create_dir_all(&sockets).unwrap();
        // The temporary folder is root's; the postgres user must be able to reach its files.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        run(
            "chown",
            &["-R", "postgres:postgres", root.to_str().unwrap()],
        );
        let out = Command::new("setpriv")
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                pg_bin.join("initdb").to_str().unwrap(),
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ])
            .output()
            .expect("running initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Hosts of the test network may connect (initdb trusts only local connections).
        let o = addr.octets();
        let mut hba = OpenOptions::new()
            .append(true)
            .open(data.join("pg_hba.conf"))
            .unwrap();
        use std::io::Write;
        writeln!(hba, "host all all {}.{}.{}.0/24 trust", o[0], o[1], o[2]).unwrap();
        let mut pg = Postgres {
            bin: pg_bin,
            proc: None,
            ns: ns.to_string(),
            data,
            sockets,
            addr,
            log: root.join("postgres.log"),
        };
        pg.start();
        pg
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@{}:5432/{database}", self.addr)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&mut self) {
        let mut cmd = in_ns(Some(&self.ns), "setpriv");
        cmd.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            self.bin.join("postgres").to_str().unwrap(),
            "-D",
            self.data.to_str().unwrap(),
            "-c",
            &format!("listen_addresses={}", self.addr),
            "-c",
            &format!("unix_socket_directories={}", self.sockets.display()),
            "-c",
            "fsync=off",
            "-c",
            "max_connections=200",
        ]);
        // The log is opened here (as root) and inherited, so postgres needs no rights on it.
        self.proc = Some(Proc::spawn("postgres", cmd, &self.log));
        let start = Instant::now();
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", &self.addr.to_string(), "-p", "5432", "-t", "1"])
                .output()
                .is_ok_and(|o| o.status.success());
            if ready {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "PostgreSQL did not start: {}",
                tail(&self.log)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the server the way an operator's restart does (SIGINT: fast shutdown, every
    /// connection closed) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.signal("INT");
            assert!(
                p.wait_exit(Duration::from_secs(30)).is_some(),
                "PostgreSQL did not stop: {}",
                tail(&self.log)
            );
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(p) = &mut self.proc {
            // Fast shutdown, so the data folder can be removed; SIGKILL (Proc) if it lingers.
            let _ = Command::new("kill")
                .args(["-INT", &p.pid().to_string()])
                .status();
            let _ = p.wait_exit(Duration::from_secs(10));
        }
    }
}

/// moto's S3 server with one bucket.
pub struct Moto {
    pub proc: Proc,
    pub addr: Ipv4Addr,
    pub port: u16,
}

impl Moto {
    pub async fn start(ns: &str, addr: Ipv4Addr, dir: &Path, bucket: &str) -> Moto {
        let python = std::env::var("VETTED_TEST_PYTHON").unwrap_or_else(|_| {
            panic!(
                "VETTED_TEST_PYTHON is not set: the multi-host test runs moto's S3 server from \
                 that venv (scripts/setup-server-test installs moto[server])"
            )
        });
        let port = 9000;
        let mut cmd = in_ns(Some(ns), &python);
        cmd.args([
            "-m",
            "moto.server",
            "-H",
            &addr.to_string(),
            "-p",
            &port.to_string(),
        ]);
        let log = dir.join("moto.log");
        let proc = Proc::spawn("moto", cmd, &log);
        let client = vetted_server_client();
        let start = Instant::now();
        loop {
            if let Ok(r) = client
                .put(format!("http://{addr}:{port}/{bucket}"))
                .send()
                .await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto's S3 server did not start: {}",
                tail(&log)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Moto { proc, addr, port }
    }
}

/// An HTTP client with a per-request bound, so a hung server fails the test instead of hanging.
pub fn vetted_server_client() -> reqwest::Client {
    vetted_server::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(90))
        .build()
        .unwrap()
}

/// The last lines of a log, for failure messages.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(25);
    format!("\n--- {} ---\n{}", path.display(), lines[from..].join("\n"))
}
