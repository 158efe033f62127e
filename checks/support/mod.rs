//! What a test needs from the system, installed when missing: a fresh Debian machine with
//! Rust passes the README's test command with nothing installed by hand.

use std::path::PathBuf;
use std::sync::Mutex;

/// One install at a time (the tests of a binary run on several threads).
static INSTALLING: Mutex<()> = Mutex::new(());

/// The path of `program`, installing Debian's `package` first if it is not on `PATH`: with
/// `apt-get` as root (as CI and a fresh container run), else the test fails saying what to
/// install. Never a silent skip.
pub fn require(program: &str, package: &str) -> PathBuf {
    let _one = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = find(program) {
        return path;
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let hint = format!(
        "{program} not found: this test needs Debian's {package} (apt-get install {package})"
    );
    assert!(
        root && find("apt-get").is_some(),
        "{hint}; not root with apt-get here, so it was not installed"
    );
    eprintln!("installing Debian's {package} for this test (apt-get)");
    for args in [
        &["update", "-qq"][..],
        &["install", "-y", "-qq", package][..],
    ] {
        let status = std::process::Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .unwrap_or_else(|e| panic!("{hint}; apt-get did not run: {e}"));
        assert!(
            status.success(),
            "{hint}; apt-get {} failed",
            args.join(" ")
        );
    }
    find(program).unwrap_or_else(|| panic!("{hint}; installed, yet not on PATH"))
}

/// `program` on `PATH`.
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
