//! `unthread serve --dev-login` refuses to start unless it listens on loopback only — before
//! it creates or starts anything.

#[test]
fn dev_login_is_refused_on_all_interfaces() {
    let data_dir = tempfile::tempdir().unwrap();
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_unthread"))
            .args(["serve", "--dev-login", "--addr", addr])
            .env("UNTHREAD_DATA_DIR", data_dir.path())
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{addr}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--dev-login is refused"), "{addr}: {stderr}");
        assert!(!data_dir.path().join("postgres").exists(), "nothing was started for {addr}");
    }
}
