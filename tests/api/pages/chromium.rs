//! Headless Chromium, for the tests that need a real browser: the rendered DOM and screenshots
//! of a URL. Every run has its own profile, reaches no host but 127.0.0.1, and is killed, with
//! every process it started, if it takes longer than [`TIMEOUT`].

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::helpers::skip_missing;

/// Longest a single Chromium run may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

const INSTALL: &str = "apt-get install -y --no-install-recommends chromium (.ci/run does)";

pub struct Chromium {
    bin: PathBuf,
}

impl Chromium {
    /// The installed browser (`SYNDIC_CHROMIUM` names another one, or none: `/nonexistent`).
    /// When there is none, [`skip_missing`] decides: CI fails, saying what to install;
    /// elsewhere the test is skipped, saying so.
    pub fn find() -> Option<Chromium> {
        let candidates = match std::env::var_os("SYNDIC_CHROMIUM") {
            Some(named) => vec![PathBuf::from(named)],
            None => vec![
                PathBuf::from("/usr/bin/chromium"),
                PathBuf::from("/usr/bin/chromium-browser"),
            ],
        };
        if let Some(bin) = candidates.into_iter().find(|p| p.is_file()) {
            return Some(Chromium { bin });
        }
        skip_missing("chromium", INSTALL);
        None
    }

    /// The DOM after load (and after any XSLT), entities decoded so that text compares as text.
    pub async fn dump_dom(&self, url: &str) -> String {
        let out = self
            .run(url, &["--dump-dom".to_owned(), url.to_owned()])
            .await;
        let dom = String::from_utf8(out.stdout).expect("the DOM is UTF-8");
        assert!(
            dom.contains("<html"),
            "chromium dumped no document for {url}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        html_escape::decode_html_entities(&dom).into_owned()
    }

    /// A PNG of the page at this window size.
    pub async fn screenshot(&self, url: &str, path: &Path, (width, height): (u32, u32)) {
        let _ = std::fs::remove_file(path);
        let out = self
            .run(
                url,
                &[
                    format!("--screenshot={}", path.display()),
                    format!("--window-size={width},{height}"),
                    url.to_owned(),
                ],
            )
            .await;
        let png = std::fs::read(path).unwrap_or_else(|e| {
            panic!(
                "no screenshot of {url} at {}: {e}\n{}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(
            png.starts_with(b"\x89PNG"),
            "{} is not a PNG",
            path.display()
        );
    }

    async fn run(&self, url: &str, args: &[String]) -> std::process::Output {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            // Only the test servers: an article's remote image must not reach the network.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Its own process group, so that a hung run is killed with its renderers.
        .process_group(0);
        let child = cmd.spawn().expect("chromium starts");
        let pid = child.id().expect("a running child has a pid");
        match tokio::time::timeout(TIMEOUT, child.wait_with_output()).await {
            Ok(out) => out.expect("chromium runs"),
            Err(_) => {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status();
                panic!("chromium took longer than {TIMEOUT:?} on {url}");
            }
        }
    }
}
