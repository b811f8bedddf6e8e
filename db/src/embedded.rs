//! A private PostgreSQL cluster under Unthread's data directory, so that `unthread serve`
//! works on a machine with PostgreSQL installed and nothing configured.
//!
//! The cluster is created with `initdb` on first use, started and stopped with `pg_ctl`, and
//! listens on a Unix socket only (no TCP port), in a directory nobody else can enter, which is
//! why trust authentication is safe here. PostgreSQL refuses to run as root, so when Unthread
//! runs as root the server processes run as the `postgres` system user instead.

use std::{
    fs,
    io::{self, Write},
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Command, Output},
};

use nix::unistd::{Gid, Uid, User};
use sqlx::postgres::PgConnectOptions;

/// Database and role created in every embedded cluster.
pub const DATABASE: &str = "unthread";
const PORT: u16 = 5432;
/// `sun_path` holds 108 bytes on Linux, including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    #[error(
        "PostgreSQL is not installed: no initdb/pg_ctl found (looked in `pg_config --bindir`, \
         /usr/lib/postgresql/*/bin and $UNTHREAD_PG_BINDIR). Install it with \
         `apt-get install postgresql`, or set DATABASE_URL to use an existing server."
    )]
    NotInstalled,
    #[error(
        "running as root, but there is no `{0}` user for PostgreSQL to run as (PostgreSQL refuses to run as root)"
    )]
    NoServiceUser(String),
    #[error("{action} failed: {detail}")]
    Command { action: String, detail: String },
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedPgError {
    let context = context.into();
    move |source| EmbeddedPgError::Io { context, source }
}

/// How the cluster trades durability for speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Normal PostgreSQL settings: what `serve` uses for real data.
    Durable,
    /// No fsync anywhere: for throw-away test clusters.
    Throwaway,
}

/// The PostgreSQL programs this machine provides.
#[derive(Clone, Debug)]
pub struct PgBinaries {
    bindir: PathBuf,
}

impl PgBinaries {
    /// Finds a directory holding `initdb`, `pg_ctl` and `postgres`.
    pub fn locate() -> Result<Self, EmbeddedPgError> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::env::var_os("UNTHREAD_PG_BINDIR") {
            candidates.push(dir.into());
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
            if out.status.success() {
                candidates.push(String::from_utf8_lossy(&out.stdout).trim().into());
            }
        }
        // Debian keeps the server programs out of PATH, one directory per major version.
        if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
            let mut versions: Vec<(u32, PathBuf)> = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let major = e.file_name().to_str()?.parse::<u32>().ok()?;
                    Some((major, e.path().join("bin")))
                })
                .collect();
            versions.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
            candidates.extend(versions.into_iter().map(|(_, dir)| dir));
        }
        candidates
            .into_iter()
            .find(|dir| ["initdb", "pg_ctl", "postgres"].iter().all(|p| dir.join(p).is_file()))
            .map(|bindir| Self { bindir })
            .ok_or(EmbeddedPgError::NotInstalled)
    }

    fn command(&self, program: &str) -> Command {
        Command::new(self.bindir.join(program))
    }
}

/// The OS account the PostgreSQL processes run as.
#[derive(Clone, Copy, Debug)]
struct RunAs {
    uid: Uid,
    gid: Gid,
}

impl RunAs {
    /// `None` when we are not root: PostgreSQL then simply runs as us.
    fn for_current_user() -> Result<Option<Self>, EmbeddedPgError> {
        if !Uid::effective().is_root() {
            return Ok(None);
        }
        let name = std::env::var("UNTHREAD_PG_USER").unwrap_or_else(|_| "postgres".to_owned());
        let user = User::from_name(&name).ok().flatten().ok_or(EmbeddedPgError::NoServiceUser(name))?;
        Ok(Some(Self { uid: user.uid, gid: user.gid }))
    }
}

/// A PostgreSQL cluster owned by this process. Dropping it stops the server.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    binaries: PgBinaries,
    run_as: Option<RunAs>,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    running: bool,
}

impl EmbeddedPostgres {
    /// Creates the cluster under `data_dir/postgres` if needed and starts it.
    ///
    /// A server left running by a killed Unthread is stopped and restarted; a `postmaster.pid`
    /// left behind by a killed PostgreSQL is removed.
    pub fn start(data_dir: &Path, durability: Durability) -> Result<Self, EmbeddedPgError> {
        let binaries = PgBinaries::locate()?;
        let run_as = RunAs::for_current_user()?;
        fs::create_dir_all(data_dir).map_err(io_err(format!("creating {}", data_dir.display())))?;
        let data_dir = data_dir.canonicalize().map_err(io_err(format!("resolving {}", data_dir.display())))?;
        let root = data_dir.join("postgres");
        let mut cluster = Self {
            binaries,
            run_as,
            pgdata: root.join("data"),
            socket_dir: socket_dir_for(&root.join("run")),
            log_file: root.join("postgres.log"),
            running: false,
        };
        cluster.prepare_directories(&root)?;
        if !cluster.pgdata.join("PG_VERSION").is_file() {
            cluster.initdb(durability)?;
        }
        cluster.write_settings(durability)?;
        cluster.recover_from_unclean_stop()?;
        cluster.pg_ctl_start()?;
        cluster.running = true;
        Ok(cluster)
    }

    /// How to reach the cluster: its Unix socket, as the `unthread` role.
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new().socket(&self.socket_dir).port(PORT).username(DATABASE).database(DATABASE)
    }

    pub fn data_directory(&self) -> &Path {
        &self.pgdata
    }

    /// Stops the server (fast shutdown: open transactions are rolled back).
    pub fn stop(&mut self) -> Result<(), EmbeddedPgError> {
        if !self.running {
            return Ok(());
        }
        self.running = false;
        self.pg_ctl_stop("fast")
    }

    /// Stops the server at once, without a checkpoint: for throw-away clusters only.
    pub fn stop_immediately(&mut self) -> Result<(), EmbeddedPgError> {
        if !self.running {
            return Ok(());
        }
        self.running = false;
        self.pg_ctl_stop("immediate")
    }

    fn prepare_directories(&self, root: &Path) -> Result<(), EmbeddedPgError> {
        for dir in [root, self.pgdata.as_path(), self.socket_dir.as_path()] {
            fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
            // PostgreSQL insists on a private data directory; the socket directory is private so
            // that trust authentication only admits this machine's owner of the cluster.
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(io_err(format!("restricting {}", dir.display())))?;
            if let Some(run_as) = self.run_as {
                nix::unistd::chown(dir, Some(run_as.uid), Some(run_as.gid)).map_err(|e| EmbeddedPgError::Io {
                    context: format!("giving {} to the PostgreSQL user", dir.display()),
                    source: e.into(),
                })?;
            }
        }
        if let Some(run_as) = self.run_as {
            // The log file is written by pg_ctl running as that user.
            if !self.log_file.exists() {
                fs::File::create(&self.log_file).map_err(io_err(format!("creating {}", self.log_file.display())))?;
            }
            nix::unistd::chown(&self.log_file, Some(run_as.uid), Some(run_as.gid)).map_err(|e| {
                EmbeddedPgError::Io { context: "giving the log to the PostgreSQL user".into(), source: e.into() }
            })?;
        }
        Ok(())
    }

    fn initdb(&self, durability: Durability) -> Result<(), EmbeddedPgError> {
        tracing::info!(pgdata = %self.pgdata.display(), "creating the embedded PostgreSQL cluster");
        let mut cmd = self.command("initdb");
        cmd.arg("--pgdata")
            .arg(&self.pgdata)
            .args(["--username", DATABASE, "--auth", "trust", "--encoding", "UTF8"])
            .args(["--locale", "C.UTF-8"]);
        if durability == Durability::Throwaway {
            cmd.arg("--no-sync");
        }
        self.run(cmd, "initdb")?;
        // Settings live in their own file so that every start can rewrite them.
        let mut conf = fs::OpenOptions::new()
            .append(true)
            .open(self.pgdata.join("postgresql.conf"))
            .map_err(io_err("opening postgresql.conf"))?;
        writeln!(conf, "\n# Unthread's settings, rewritten at every start.\ninclude 'unthread.conf'")
            .map_err(io_err("writing postgresql.conf"))
    }

    fn write_settings(&self, durability: Durability) -> Result<(), EmbeddedPgError> {
        let socket_dir = self.socket_dir.to_string_lossy().replace('\'', "''");
        let mut settings = format!(
            "listen_addresses = ''\nport = {PORT}\nunix_socket_directories = '{socket_dir}'\n\
             unix_socket_permissions = 0700\nmax_connections = 200\n"
        );
        if durability == Durability::Throwaway {
            settings.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let path = self.pgdata.join("unthread.conf");
        fs::write(&path, settings).map_err(io_err(format!("writing {}", path.display())))?;
        if let Some(run_as) = self.run_as {
            nix::unistd::chown(&path, Some(run_as.uid), Some(run_as.gid))
                .map_err(|e| EmbeddedPgError::Io { context: "chown unthread.conf".into(), source: e.into() })?;
        }
        Ok(())
    }

    /// Handles what a killed process leaves behind: a live server we no longer control, or a
    /// `postmaster.pid` naming a process that is gone (or is now some unrelated program).
    fn recover_from_unclean_stop(&self) -> Result<(), EmbeddedPgError> {
        let pid_file = self.pgdata.join("postmaster.pid");
        let Ok(contents) = fs::read_to_string(&pid_file) else {
            return Ok(());
        };
        let pid = contents.lines().next().and_then(|l| l.trim().parse::<i32>().ok());
        if pid.is_some_and(|pid| self.is_our_postmaster(pid)) {
            tracing::warn!("the embedded PostgreSQL was left running by an earlier run; restarting it");
            return self.pg_ctl_stop("fast");
        }
        tracing::warn!(pid_file = %pid_file.display(), "removing a stale postmaster.pid from a killed run");
        fs::remove_file(&pid_file).map_err(io_err("removing the stale postmaster.pid"))?;
        let socket_lock = self.socket_dir.join(format!(".s.PGSQL.{PORT}.lock"));
        match fs::remove_file(&socket_lock) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("removing the stale socket lock")(e)),
            _ => Ok(()),
        }
    }

    /// A postmaster works in its data directory, so a live `postgres` process whose working
    /// directory is ours is our server; any other process merely reuses the old pid.
    fn is_our_postmaster(&self, pid: i32) -> bool {
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        let is_postgres = fs::read_link(proc_dir.join("exe"))
            .map(|exe| exe.file_name().is_some_and(|n| n.to_string_lossy().starts_with("postgres")))
            .unwrap_or(false);
        let cwd_is_ours = match (fs::read_link(proc_dir.join("cwd")), self.pgdata.canonicalize()) {
            (Ok(cwd), Ok(pgdata)) => cwd == pgdata,
            _ => false,
        };
        is_postgres && cwd_is_ours
    }

    fn pg_ctl_start(&self) -> Result<(), EmbeddedPgError> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("start").arg("--pgdata").arg(&self.pgdata).arg("--log").arg(&self.log_file).args([
            "--wait",
            "--timeout",
            "60",
            "--silent",
        ]);
        self.run(cmd, "starting PostgreSQL (pg_ctl start)").map_err(|err| self.with_log_tail(err))
    }

    fn pg_ctl_stop(&self, mode: &str) -> Result<(), EmbeddedPgError> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("stop").arg("--pgdata").arg(&self.pgdata).args([
            "--mode",
            mode,
            "--wait",
            "--timeout",
            "60",
            "--silent",
        ]);
        self.run(cmd, "stopping PostgreSQL (pg_ctl stop)")
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = self.binaries.command(program);
        // initdb and pg_ctl complain when they cannot enter the current directory.
        cmd.current_dir(self.pgdata.parent().unwrap_or(Path::new("/")));
        cmd.env_remove("PGDATA").env("LC_ALL", "C.UTF-8");
        if let Some(run_as) = self.run_as {
            cmd.uid(run_as.uid.as_raw()).gid(run_as.gid.as_raw());
        }
        cmd
    }

    fn run(&self, mut cmd: Command, action: &str) -> Result<(), EmbeddedPgError> {
        let output: Output = cmd.output().map_err(io_err(format!("running {action}")))?;
        if output.status.success() {
            return Ok(());
        }
        let mut detail = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        if detail.is_empty() {
            detail = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        }
        Err(EmbeddedPgError::Command { action: action.to_owned(), detail })
    }

    fn with_log_tail(&self, err: EmbeddedPgError) -> EmbeddedPgError {
        let tail = fs::read_to_string(&self.log_file)
            .map(|log| log.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        match err {
            EmbeddedPgError::Command { action, detail } if !tail.is_empty() => EmbeddedPgError::Command {
                action,
                detail: format!("{detail}\nlast lines of {}:\n{tail}", self.log_file.display()),
            },
            other => other,
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            tracing::error!(error = %err, "could not stop the embedded PostgreSQL");
        }
    }
}

/// The socket lives in the cluster's own `run/` directory unless that path is too long for a
/// Unix socket address; then in a private directory under the system temp directory.
fn socket_dir_for(preferred: &Path) -> PathBuf {
    let socket_name_len = format!("/.s.PGSQL.{PORT}").len();
    if preferred.as_os_str().len() + socket_name_len <= MAX_SOCKET_PATH {
        return preferred.to_path_buf();
    }
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    preferred.hash(&mut hasher);
    std::env::temp_dir().join(format!("unthread-pg-{:016x}", hasher.finish()))
}

/// Stops, without a checkpoint, a server that may still run on `pgdata` after the process
/// that started it died. Used to clean up abandoned throw-away clusters.
pub fn stop_abandoned(pgdata: &Path) -> Result<(), EmbeddedPgError> {
    let mut cmd = PgBinaries::locate()?.command("pg_ctl");
    cmd.arg("stop").arg("--pgdata").arg(pgdata).args(["--mode", "immediate", "--silent"]);
    if let Some(run_as) = RunAs::for_current_user()? {
        cmd.uid(run_as.uid.as_raw()).gid(run_as.gid.as_raw());
    }
    cmd.output().map_err(io_err("running pg_ctl stop"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_socket_directories_stay_in_the_cluster() {
        let dir = Path::new("/srv/unthread/postgres/run");
        assert_eq!(socket_dir_for(dir), dir);
    }

    #[test]
    fn long_socket_directories_move_to_temp() {
        let long = PathBuf::from("/").join("x".repeat(120)).join("run");
        let chosen = socket_dir_for(&long);
        assert!(chosen.starts_with(std::env::temp_dir()));
        assert!(chosen.as_os_str().len() + 15 <= MAX_SOCKET_PATH);
        assert_eq!(chosen, socket_dir_for(&long), "the fallback must be stable across runs");
    }
}
