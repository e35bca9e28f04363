//! Links `vetted` as a position-dependent executable. A PIE binary of this size carries ~65,000
//! relative relocations: the loader spends about a million instructions and 300 page faults
//! (every page of `.data.rel.ro` written) applying them at every start, a tenth of a small
//! plugin's scan. The code is still compiled position-independent; only the final link differs.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.contains("linux") && !target.contains("musl") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
