//! Starting `vetted` as a child process in the command-line tests: the same binary an
//! administrator runs, killed when the test lets go of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const VETTED: &str = env!("CARGO_BIN_EXE_vetted");

/// A child process killed (SIGKILL) when dropped, so a failing test leaves nothing behind.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `vetted ARGS` with `env` set, its standard error written to `log`.
pub fn spawn(args: &[&str], env: &[(&str, &str)], log: &Path) -> Proc {
    let log = std::fs::File::create(log).expect("creating the child's log");
    Proc(
        Command::new(VETTED)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting vetted"),
    )
}
