//! Records, for the table header, the compiler that builds this binary and
//! the versions Cargo.lock pins for the library and its peers.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../Cargo.lock");
    println!("cargo:rerun-if-env-changed=RUSTC");

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".into(), |s| s.trim().to_owned());
    println!("cargo:rustc-env=BENCH_RUSTC_VERSION={version}");

    let lock = std::fs::read_to_string("../Cargo.lock").unwrap_or_default();
    for (package, var) in [
        ("creditproof", "BENCH_CREDITPROOF_VERSION"),
        ("sd-jwt-rs", "BENCH_SD_JWT_RS_VERSION"),
        ("jsonwebtoken", "BENCH_JSONWEBTOKEN_VERSION"),
        ("bulletproofs", "BENCH_BULLETPROOFS_VERSION"),
        ("ed25519-dalek", "BENCH_ED25519_DALEK_VERSION"),
        ("ring", "BENCH_RING_VERSION"),
    ] {
        println!("cargo:rustc-env={var}={}", locked_version(&lock, package));
    }
}

/// The version of the first `[[package]]` named `name` in a Cargo.lock.
fn locked_version(lock: &str, name: &str) -> String {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            if let Some(v) = lines.next().and_then(|l| l.trim().strip_prefix("version = ")) {
                return v.trim_matches('"').to_owned();
            }
        }
    }
    "unknown".into()
}
