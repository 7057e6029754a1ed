//! A small static server for `target/site/`, sending the headers threads need.
//!
//! Shared wasm memory needs `SharedArrayBuffer`, which browsers give only to
//! cross-origin isolated documents: every response carries COOP `same-origin` and COEP
//! `require-corp` (workers included: a worker's own response decides its isolation).

use crate::{build, root, step, tools, Result};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

pub fn command(args: &[String]) -> Result {
    let mut port = 8080u16;
    let mut host = "127.0.0.1".to_owned();
    let mut headers = Headers::ThreadLab;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--port" => port = it.next().and_then(|p| p.parse().ok()).ok_or("--port needs a number from 0 to 65535")?,
            "--host" => host = it.next().cloned().ok_or("--host needs an address")?,
            // To see the page as a host without COOP/COEP serves it: no threads engine.
            "--no-isolation" => headers = Headers::NotIsolated,
            other => return Err(format!("serve: unknown option {other:?}")),
        }
    }
    tools::ensure_build_tools()?;
    let site = build::site(&root())?;
    let listener =
        TcpListener::bind((host.as_str(), port)).map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    step(&format!("ThreadLab is at http://{addr}/  (Ctrl-C stops it)"));
    accept_loop(&listener, &site, headers);
    Ok(())
}

/// Serves `site` on a free port of 127.0.0.1 in the background; returns the address.
///
/// # Errors
/// When no port can be had.
pub fn spawn(site: PathBuf) -> Result<SocketAddr> {
    spawn_with(site, Headers::ThreadLab)
}

/// What a server sends besides the files.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Headers {
    /// Cross-origin isolation and the strict CSP: `cargo xtask serve`.
    ThreadLab,
    /// The CSP but no isolation, as a plain static host: `--no-isolation`.
    NotIsolated,
    /// Nothing at all: a course page embedding ThreadLab (tests).
    Plain,
}

/// Like [`spawn`], with other headers.
///
/// # Errors
/// When no port can be had.
pub fn spawn_with(site: PathBuf, headers: Headers) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    std::thread::spawn(move || accept_loop(&listener, &site, headers));
    Ok(addr)
}

fn accept_loop(listener: &TcpListener, site: &Path, headers: Headers) {
    for stream in listener.incoming().flatten() {
        let site = site.to_path_buf();
        std::thread::spawn(move || {
            let _ = handle(stream, &site, headers);
        });
    }
}

/// A strict policy the app must work under: no inline script, wasm compiled only as
/// wasm (`'wasm-unsafe-eval'`), workers only from this origin or blobs it made. Inline
/// *styles* are allowed: the timeline sets bar heights through `style` attributes.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'";

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// Maps a request path to a file under `site`, refusing anything that climbs out.
fn resolve(site: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let mut file = site.to_path_buf();
    for part in Path::new(path.trim_start_matches('/')).components() {
        match part {
            Component::Normal(p) => file.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

fn handle(stream: TcpStream, site: &Path, headers: Headers) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request)? == 0 {
            return Ok(());
        }
        let mut keep_alive = true;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
                break;
            }
            if header.to_ascii_lowercase().starts_with("connection:") && header.to_ascii_lowercase().contains("close") {
                keep_alive = false;
            }
        }
        let mut parts = request.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        let (status, ctype, body) = match (method, resolve(site, target)) {
            ("GET" | "HEAD", Some(file)) => ("200 OK", content_type(&file), std::fs::read(&file)?),
            ("GET" | "HEAD", None) => ("404 Not Found", "text/plain; charset=utf-8", b"not found\n".to_vec()),
            _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", b"method not allowed\n".to_vec()),
        };
        let isolation = if headers == Headers::ThreadLab {
            // Document-Isolation-Policy (Chromium 137+) isolates this document even inside
            // an iframe of a course page that is not isolated itself: threads work in embeds.
            "Cross-Origin-Opener-Policy: same-origin\r\n\
             Cross-Origin-Embedder-Policy: require-corp\r\n\
             Cross-Origin-Resource-Policy: cross-origin\r\n\
             Document-Isolation-Policy: isolate-and-require-corp\r\n"
        } else {
            ""
        };
        let csp = if headers == Headers::Plain { String::new() } else { format!("Content-Security-Policy: {CSP}\r\n") };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
             {isolation}{csp}\
             Cache-Control: no-cache\r\n\
             Connection: {}\r\n\r\n",
            body.len(),
            if keep_alive { "keep-alive" } else { "close" }
        );
        out.write_all(head.as_bytes())?;
        if method != "HEAD" {
            out.write_all(&body)?;
        }
        out.flush()?;
        if !keep_alive {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_climb_out_of_the_site() {
        let site = std::env::temp_dir().join(format!("threadlab-serve-{}", std::process::id()));
        std::fs::create_dir_all(site.join("www")).unwrap();
        std::fs::write(site.join("index.html"), "hi").unwrap();
        std::fs::write(site.join("www/a.js"), "x").unwrap();
        assert_eq!(resolve(&site, "/"), Some(site.join("index.html")));
        assert_eq!(resolve(&site, "/www/a.js?v=1"), Some(site.join("www/a.js")));
        assert_eq!(resolve(&site, "/../etc/passwd"), None);
        assert_eq!(resolve(&site, "/www/../../x"), None);
        assert_eq!(resolve(&site, "/missing.js"), None);
        assert_eq!(content_type(Path::new("a.wasm")), "application/wasm");
        std::fs::remove_dir_all(site).unwrap();
    }

    #[test]
    fn every_response_is_cross_origin_isolated() {
        let site = std::env::temp_dir().join(format!("threadlab-serve-h-{}", std::process::id()));
        std::fs::create_dir_all(&site).unwrap();
        std::fs::write(site.join("index.html"), "hello").unwrap();
        let addr = spawn(site.clone()).unwrap();
        for path in ["/", "/nope"] {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut s, &mut text).unwrap();
            assert!(text.contains("Cross-Origin-Opener-Policy: same-origin"), "{text}");
            assert!(text.contains("Cross-Origin-Embedder-Policy: require-corp"), "{text}");
            assert!(
                text.contains("Content-Security-Policy: default-src 'self'; script-src 'self' 'wasm-unsafe-eval'"),
                "{text}"
            );
        }
        std::fs::remove_dir_all(site).unwrap();
    }
}
