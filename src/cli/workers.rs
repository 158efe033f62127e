//! The worker processes of a distributed search: `check --workers N` starts N−1 copies of the
//! running program on this machine, and `check --hosts FILE --process I` joins a search whose
//! processes are listed in FILE (one `host:port` per line), as each machine of a cluster does.

use crate::engine::cluster::Cluster;
use crate::error::InputError;
use std::ffi::OsString;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The most worker processes `--workers` starts on one machine.
pub const MAX_WORKERS: u16 = 64;

/// Reads a hosts file: one `host:port` per line (blank lines and `#` comments skipped).
///
/// Errors: the file cannot be read, a line is not `host:port` with a port 1 to 65535, or the
/// file lists no process, or `process` is not one of its lines.
pub fn read_hosts(path: &Path, process: usize) -> Result<Cluster, InputError> {
    let bad = |problem: String| InputError::File {
        path: path.to_path_buf(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        bad(format!(
            "cannot read the hosts file ({e}); give a file with one host:port per line"
        ))
    })?;
    let mut addresses = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let port = line.rsplit_once(':').map(|(h, p)| (h, p.parse::<u16>()));
        match port {
            Some((host, Ok(p))) if !host.is_empty() && p > 0 && !line.contains(' ') => {
                addresses.push(line.to_string())
            }
            _ => {
                return Err(bad(format!(
                    "line {}: '{line}' is not host:port (a port 1 to 65535), e.g. 10.0.0.7:4100",
                    n + 1
                )))
            }
        }
    }
    if addresses.is_empty() {
        return Err(bad(
            "lists no process; give one host:port per line, process 0 first".into(),
        ));
    }
    if process >= addresses.len() {
        return Err(InputError::Usage(format!(
            "--process {process} is not in {} ({} processes); give 0 to {}",
            path.display(),
            addresses.len(),
            addresses.len() - 1
        )));
    }
    Ok(Cluster { process, addresses })
}

/// The hosts file of the `--workers` search running, if one is: a second Ctrl-C quits at once,
/// without the drop that removes it.
static HOSTS_FILE: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);

/// Removes the hosts file of the `--workers` search running, if any (on a quick quit).
pub fn remove_hosts_file() {
    if let Some(path) = HOSTS_FILE.lock().ok().and_then(|mut p| p.take()) {
        let _ = std::fs::remove_file(path);
    }
}

/// The processes of `check --workers N` on this machine: this one (process 0) and the N−1
/// children it started, which it waits for when dropped.
pub struct LocalWorkers {
    /// This process's place in the search.
    pub cluster: Cluster,
    children: Vec<Child>,
    _hosts: tempfile::NamedTempFile,
}

impl LocalWorkers {
    /// Picks `n` free ports on 127.0.0.1, writes them to a hosts file and starts processes 1 to
    /// n−1 as copies of this program with the same arguments, `--workers` replaced by `--hosts`
    /// and `--process`. The children print nothing (their stderr is this one's).
    ///
    /// Errors: no free port, or the program cannot be started again.
    pub fn start(n: usize) -> Result<LocalWorkers, InputError> {
        let failed = |what: String| {
            InputError::Usage(format!(
                "--workers {n}: {what}; run with fewer workers or use --hosts"
            ))
        };
        let listeners: Vec<TcpListener> = (0..n)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<Result<_, _>>()
            .map_err(|e| failed(format!("no free port on 127.0.0.1 ({e})")))?;
        let addresses: Vec<String> = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.to_string()))
            .collect::<Result<_, _>>()
            .map_err(|e| failed(format!("no free port on 127.0.0.1 ({e})")))?;
        drop(listeners);
        let mut hosts = tempfile::NamedTempFile::new()
            .map_err(|e| failed(format!("cannot write a hosts file ({e})")))?;
        hosts
            .write_all(format!("{}\n", addresses.join("\n")).as_bytes())
            .map_err(|e| failed(format!("cannot write a hosts file ({e})")))?;
        if let Ok(mut registered) = HOSTS_FILE.lock() {
            *registered = Some(hosts.path().to_path_buf());
        }
        let exe = std::env::current_exe()
            .map_err(|e| failed(format!("cannot find this program ({e})")))?;
        let args = without_workers(std::env::args_os().skip(1));
        let mut workers = LocalWorkers {
            cluster: Cluster {
                process: 0,
                addresses,
            },
            children: Vec::new(),
            _hosts: hosts,
        };
        for process in 1..n {
            let child = stop_with_parent(&mut Command::new(&exe))
                .args(&args)
                .arg("--hosts")
                .arg(workers._hosts.path())
                .arg("--process")
                .arg(process.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| failed(format!("cannot start {} ({e})", exe.display())))?;
            workers.children.push(child);
        }
        Ok(workers)
    }
}

impl Drop for LocalWorkers {
    /// Waits for the children: they end with process 0's search, which ends for all
    /// together. A child still running 10 s later (its search failed to connect) is killed.
    fn drop(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        for child in &mut self.children {
            while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if let Ok(mut registered) = HOSTS_FILE.lock() {
            *registered = None;
        }
    }
}

/// Has the child that `command` starts told to stop when this process ends (Linux: SIGTERM,
/// which it takes as Ctrl-C), so that no process of a search outlives the one that started it.
pub fn stop_with_parent(command: &mut Command) -> &mut Command {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec the closure only calls prctl, which is
        // async-signal-safe, and allocates nothing.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    command
}

/// The arguments without `--workers N` (or `--workers=N`), and without the options that only
/// process 0 acts on (`--trace-dir`, `--export`: the children write no file).
fn without_workers(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    const DROPPED: [&str; 3] = ["--workers", "--trace-dir", "--export"];
    let mut kept = Vec::new();
    let mut skip_value = false;
    for arg in args {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        let text = arg.to_string_lossy();
        if DROPPED.contains(&text.as_ref()) {
            skip_value = true;
        } else if !DROPPED.iter().any(|d| text.starts_with(&format!("{d}="))) {
            kept.push(arg);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_children_get_the_arguments_without_workers_and_files() {
        let args = [
            "check",
            "raft",
            "--workers",
            "4",
            "-p",
            "servers=3",
            "--trace-dir",
            "out",
            "--export=dot",
            "--workers=2",
            "--no-liveness",
        ]
        .map(OsString::from);
        let kept: Vec<_> = without_workers(args.into_iter());
        assert_eq!(
            kept,
            ["check", "raft", "-p", "servers=3", "--no-liveness"].map(OsString::from)
        );
    }

    #[test]
    fn a_hosts_file_is_one_host_and_port_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(
            &path,
            "# the search\nnode-0.ftcheck:4100\n\n10.0.0.8:4100 # two\n",
        )
        .unwrap();
        let c = read_hosts(&path, 1).unwrap();
        assert_eq!(c.addresses, ["node-0.ftcheck:4100", "10.0.0.8:4100"]);
        assert_eq!(c.process, 1);
        let err = read_hosts(&path, 2).unwrap_err().to_string();
        assert!(
            err.contains("--process 2 is not in") && err.contains("give 0 to 1"),
            "{err}"
        );
        for (text, expect) in [
            ("a:1\nb\n", "line 2: 'b' is not host:port"),
            ("a:0\n", "line 1: 'a:0' is not host:port"),
            ("a:70000\n", "line 1"),
            (":4100\n", "line 1"),
            ("# nothing\n", "lists no process"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = read_hosts(&path, 0).unwrap_err().to_string();
            assert!(err.contains(expect), "{text:?}: {err}");
        }
        let err = read_hosts(&dir.path().join("absent"), 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read the hosts file"), "{err}");
    }
}
