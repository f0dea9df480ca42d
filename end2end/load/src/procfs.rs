//! What Linux tells about processes: our fd limit, the server's RSS and CPU.

use std::net::SocketAddr;

use serde::Serialize;

/// The process's open-file limit, before and after raising the soft limit.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FdLimit {
    pub soft_before: u64,
    pub soft: u64,
    pub hard: u64,
    pub raised: bool,
    pub error: Option<String>,
}

/// Raises RLIMIT_NOFILE's soft limit to the hard limit.
pub fn raise_fd_limit() -> FdLimit {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            let mut out = FdLimit {
                soft_before: soft,
                soft,
                hard,
                raised: false,
                error: None,
            };
            if soft < hard {
                match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                    Ok(()) => {
                        out.soft = hard;
                        out.raised = true;
                    }
                    Err(e) => out.error = Some(format!("setrlimit: {e}")),
                }
            }
            out
        }
        Err(e) => FdLimit {
            error: Some(format!("getrlimit: {e}")),
            ..FdLimit::default()
        },
    }
}

/// Clock ticks per second for /proc/PID/stat (normally 100).
pub fn clk_tck() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v > 0)
        .unwrap_or(100)
}

/// VmRSS of a process, in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vmrss(&status)
}

pub fn parse_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// utime + stime of a process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat)
}

pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name may contain spaces and parentheses: skip past the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ")": state is field 3 of the full line; utime is 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The pid of the process listening on `addr`'s port (on that address or a
/// wildcard), found through /proc/net/tcp{,6} and the fd tables. Needs the
/// permission to read other processes' fds (same user, or root).
pub fn find_listener(addr: SocketAddr) -> Option<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            inodes.extend(listening_inodes(&text, addr.port()));
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let procs = std::fs::read_dir("/proc").ok()?;
    let me = std::process::id();
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                if wanted.iter().any(|w| target.as_os_str() == w.as_str()) {
                    return Some(pid);
                }
            }
        }
    }
    None
}

/// Inodes of LISTEN sockets on `port` in a /proc/net/tcp table.
pub fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local = f.get(1)?;
            let state = f.get(3)?;
            let inode: u64 = f.get(9)?.parse().ok()?;
            let port_hex = local.rsplit(':').next()?;
            let p = u16::from_str_radix(port_hex, 16).ok()?;
            (*state == "0A" && p == port && inode != 0).then_some(inode)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let status = "Name:\tdefmis-chat\nVmPeak:\t  9000 kB\nVmRSS:\t   41180 kB\nThreads:\t3\n";
        assert_eq!(parse_vmrss(status), Some(41180 * 1024));
        assert_eq!(parse_vmrss("Name: x\n"), None);
        let stat = "1234 (defmis (chat) x) S 1 1234 1234 0 -1 4194560 2000 0 0 0 150 25 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(175));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn finds_listen_sockets() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
            0: 0100007F:1FBB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 55501 1 0\n   \
            1: 0100007F:1FBB 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000     0        0 55600 1 0\n   \
            2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0\n";
        assert_eq!(listening_inodes(table, 8123), vec![55501]);
        assert_eq!(listening_inodes(table, 8080), vec![777]);
        assert!(listening_inodes(table, 1).is_empty());
    }

    #[test]
    fn reads_our_own_process() {
        let me = std::process::id();
        assert!(rss_bytes(me).unwrap() > 0);
        assert!(cpu_ticks(me).is_some());
        assert!(clk_tck() > 0);
    }
}
