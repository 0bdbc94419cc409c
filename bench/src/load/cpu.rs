//! CPU time of processes, from `/proc/<pid>/stat` (utime + stime, in
//! clock ticks), and the process listening on a TCP port (from
//! `/proc/net/tcp{,6}` and the socket links under `/proc/<pid>/fd`).

use std::process::Command;

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when that fails).
pub(crate) fn ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u32>().ok())
        .map_or(100.0, f64::from)
}

/// utime + stime of `pid` in ticks, and its name (`comm`).
fn stat(pid: u32) -> Option<(u64, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    // After `) `: state is field 3; utime and stime are fields 14 and 15.
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((utime + stime, comm))
}

/// The CPU ticks of one process (`None` once it has exited).
pub(crate) fn ticks(pid: u32) -> Option<u64> {
    stat(pid).map(|(t, _)| t)
}

/// The CPU ticks of this process.
pub(crate) fn own_ticks() -> u64 {
    ticks(std::process::id()).unwrap_or(0)
}

/// The summed ticks of every process named `name`, and how many there are.
/// (A process that exits during a run takes its ticks with it.)
pub(crate) fn ticks_of_name(name: &str) -> (u64, usize) {
    let mut sum = 0;
    let mut n = 0;
    for pid in pids() {
        if let Some((t, comm)) = stat(pid) {
            if comm == name {
                sum += t;
                n += 1;
            }
        }
    }
    (sum, n)
}

fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// The port of an `http://host:port` URL (80 without one).
pub(crate) fn port_of(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    match authority.rsplit_once(':') {
        Some((_, p)) => p.parse().ok(),
        None => Some(80),
    }
}

/// The process (of this user) with a socket listening on `port`.
pub(crate) fn listener_pid(port: u16) -> Option<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else { continue };
            let p = local.rsplit_once(':').and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if p == Some(port) && *state == "0A" {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    pids().into_iter().find(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|d| {
            d.filter_map(Result::ok).any(|e| {
                std::fs::read_link(e.path()).is_ok_and(|l| l.to_str().is_some_and(|l| inodes.iter().any(|i| i == l)))
            })
        })
    })
}

/// The servers' CPU, measured between `start` and `stop`.
pub(crate) struct Meter {
    pids: Vec<u32>,
    names: Vec<String>,
    start: Vec<u64>,
    start_names: Vec<(u64, usize)>,
    start_own: u64,
}

/// What a [`Meter`] measured, in seconds.
pub(crate) struct Measured {
    /// The servers' CPU seconds.
    pub servers: f64,
    /// Per extra process name: CPU seconds and process count.
    pub named: Vec<(String, f64, usize)>,
    /// The load generator's own CPU seconds.
    pub own: f64,
}

impl Meter {
    /// Starts measuring `pids` and every process named in `names`.
    pub(crate) fn start(pids: &[u32], names: &[String]) -> Self {
        Self {
            pids: pids.to_vec(),
            names: names.to_vec(),
            start: pids.iter().map(|p| ticks(*p).unwrap_or(0)).collect(),
            start_names: names.iter().map(|n| ticks_of_name(n)).collect(),
            start_own: own_ticks(),
        }
    }

    /// The CPU used since `start`.
    pub(crate) fn stop(&self) -> Measured {
        let tck = ticks_per_sec();
        let secs = |t: u64| t as f64 / tck;
        let servers: u64 =
            self.pids.iter().zip(&self.start).map(|(p, s)| ticks(*p).unwrap_or(*s).saturating_sub(*s)).sum();
        let named = self
            .names
            .iter()
            .zip(&self.start_names)
            .map(|(n, (s, _))| {
                let (now, count) = ticks_of_name(n);
                (n.clone(), secs(now.saturating_sub(*s)), count)
            })
            .collect();
        Measured { servers: secs(servers), named, own: secs(own_ticks().saturating_sub(self.start_own)) }
    }
}

/// The server processes to charge: `--server-pid`s, or the listener on
/// each URL's port.
pub(crate) fn server_pids(given: &[u32], urls: &[String]) -> Result<Vec<u32>, String> {
    if !given.is_empty() {
        for p in given {
            ticks(*p).ok_or_else(|| format!("--server-pid {p}: no such process (or /proc/{p}/stat unreadable)"))?;
        }
        return Ok(given.to_vec());
    }
    let mut found = Vec::new();
    for url in urls {
        let port = port_of(url).ok_or_else(|| format!("{url}: not an http://host:port URL"))?;
        let pid = listener_pid(port)
            .ok_or_else(|| format!("no process of this user listens on port {port} ({url}); give --server-pid"))?;
        if !found.contains(&pid) {
            found.push(pid);
        }
    }
    Ok(found)
}
